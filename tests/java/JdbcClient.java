// Drives iriswire with pgjdbc (Debian's libpostgresql-jdbc-java) and prints
// what it sees, one fact per line, for tests/python/test_clients.py to check.
import java.math.BigDecimal;
import java.sql.*;

public class JdbcClient {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE jd (id integer PRIMARY KEY, name varchar(20) NOT NULL, "
                        + "price numeric(10,2), ok boolean, seen timestamp)");
            }
            // Past prepareThreshold (5), pgjdbc switches to named server-side statements.
            try (PreparedStatement p = c.prepareStatement(
                    "INSERT INTO jd (id, name, price, ok, seen) VALUES (?, ?, ?, ?, ?)")) {
                for (int i = 1; i <= 8; i++) {
                    p.setInt(1, i);
                    p.setString(2, "item" + i);
                    p.setBigDecimal(3, new BigDecimal(i + ".25"));
                    p.setBoolean(4, i % 2 == 0);
                    p.setTimestamp(5, Timestamp.valueOf("2024-01-0" + (i % 9 + 1) + " 10:00:00"));
                    System.out.println("insert\t" + p.executeUpdate());
                }
            }
            try (PreparedStatement p = c.prepareStatement(
                    "SELECT id, name, price, ok, seen FROM jd WHERE id = ?")) {
                for (int i = 0; i < 7; i++) {
                    p.setInt(1, 3);
                    try (ResultSet r = p.executeQuery()) {
                        r.next();
                        if (i == 6) {
                            ResultSetMetaData m = r.getMetaData();
                            StringBuilder types = new StringBuilder("types");
                            for (int k = 1; k <= m.getColumnCount(); k++) {
                                types.append('\t').append(m.getColumnTypeName(k));
                            }
                            System.out.println(types);
                            System.out.println("row\t" + r.getInt(1) + "\t" + r.getString(2) + "\t"
                                    + r.getBigDecimal(3) + "\t" + r.getBoolean(4) + "\t" + r.getTimestamp(5));
                        }
                    }
                }
            }
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.executeUpdate("UPDATE jd SET name = 'changed' WHERE id = 1");
                c.rollback();
                s.executeUpdate("DELETE FROM jd WHERE id = 8");
                c.commit();
            }
            c.setAutoCommit(true);
            try (Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT count(*), min(name) FROM jd")) {
                r.next();
                System.out.println("after\t" + r.getLong(1) + "\t" + r.getString(2));
            }
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO jd (id, name) VALUES (1, 'dup')");
            } catch (SQLException e) {
                System.out.println("error\t" + e.getSQLState());
            }
            try (Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT 1 + 1")) {
                r.next();
                System.out.println("usable\t" + r.getInt(1));
            }
        }
    }
}
