// Reads iriswire's catalog through pgjdbc's DatabaseMetaData and prints one
// row a line (call, then the columns), for tests/python/test_introspection.py.
import java.sql.*;

public class JdbcMetadata {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            DatabaseMetaData m = c.getMetaData();
            print("tables", m.getTables(null, "public", "%", new String[] {"TABLE"}), 4);
            print("columns", m.getColumns(null, "public", "meta_t", "%"), 18);
            print("pk", m.getPrimaryKeys(null, "public", "meta_t"), 6);
            print("schemas", m.getSchemas(), 1);
            print("typeinfo", m.getTypeInfo(), 2);
            print("index", m.getIndexInfo(null, "public", "meta_t", false, false), 9);
        }
    }

    static void print(String call, ResultSet r, int columns) throws SQLException {
        try (r) {
            while (r.next()) {
                StringBuilder line = new StringBuilder(call);
                for (int k = 1; k <= columns; k++) {
                    line.append('\t').append(r.getString(k));
                }
                System.out.println(line);
            }
        }
    }
}
