"""The shape of the emulated catalog: PostgreSQL 16's column sets for the
pg_catalog relations clients read and for information_schema's views, and
the rows that do not depend on the backend's schema (access methods,
settings, roles, extensions, collations...).

Declared types are PostgreSQL's, so results are described with the types
drivers expect (``pg_char`` is ``"char"``). A type that is text in SQLite
but whose name alone would give a column numeric affinity (``regproc``,
``int2vector``, ``pg_node_tree``, arrays) is declared ``<type> text``:
SQLite then stores text, and the front end reads the type's first word.
Arrays are stored in PostgreSQL's text form (``{a,b}``; int2vector and
oidvector as ``1 2``), as clients print and parse them.
"""

# relation → "column type, ..." in PostgreSQL's order.
PG_CATALOG = {
    "pg_namespace": "oid oid, nspname name, nspowner oid, nspacl _aclitem text",
    "pg_class": (
        "oid oid, relname name, relnamespace oid, reltype oid, reloftype oid, relowner oid,"
        " relam oid, relfilenode oid, reltablespace oid, relpages int4, reltuples float4,"
        " relallvisible int4, reltoastrelid oid, relhasindex bool, relisshared bool,"
        " relpersistence pg_char, relkind pg_char, relnatts int2, relchecks int2,"
        " relhasrules bool, relhastriggers bool, relhassubclass bool, relrowsecurity bool,"
        " relforcerowsecurity bool, relispopulated bool, relreplident pg_char,"
        " relispartition bool, relrewrite oid, relfrozenxid xid text, relminmxid xid text,"
        " relacl _aclitem text, reloptions _text text, relpartbound pg_node_tree text"),
    "pg_attribute": (
        "attrelid oid, attname name, atttypid oid, attstattarget int4, attlen int2, attnum int2,"
        " attndims int4, attcacheoff int4, atttypmod int4, attbyval bool, attalign pg_char,"
        " attstorage pg_char, attcompression pg_char, attnotnull bool, atthasdef bool,"
        " atthasmissing bool, attidentity pg_char, attgenerated pg_char, attisdropped bool,"
        " attislocal bool, attinhcount int4, attcollation oid, attacl _aclitem text,"
        " attoptions _text text, attfdwoptions _text text, attmissingval anyarray text"),
    "pg_type": (
        "oid oid, typname name, typnamespace oid, typowner oid, typlen int2, typbyval bool,"
        " typtype pg_char, typcategory pg_char, typispreferred bool, typisdefined bool,"
        " typdelim pg_char, typrelid oid, typsubscript regproc text, typelem oid, typarray oid,"
        " typinput regproc text, typoutput regproc text, typreceive regproc text,"
        " typsend regproc text, typmodin regproc text, typmodout regproc text,"
        " typanalyze regproc text, typalign pg_char, typstorage pg_char, typnotnull bool,"
        " typbasetype oid, typtypmod int4, typndims int4, typcollation oid,"
        " typdefaultbin pg_node_tree text, typdefault text, typacl _aclitem text"),
    "pg_range": (
        "rngtypid oid, rngsubtype oid, rngmultitypid oid, rngcollation oid, rngsubopc oid,"
        " rngcanonical regproc text, rngsubdiff regproc text"),
    "pg_index": (
        "indexrelid oid, indrelid oid, indnatts int2, indnkeyatts int2, indisunique bool,"
        " indnullsnotdistinct bool, indisprimary bool, indisexclusion bool, indimmediate bool,"
        " indisclustered bool, indisvalid bool, indcheckxmin bool, indisready bool,"
        " indislive bool, indisreplident bool, indkey int2vector text,"
        " indcollation oidvector text, indclass oidvector text, indoption int2vector text,"
        " indexprs pg_node_tree text, indpred pg_node_tree text"),
    "pg_constraint": (
        "oid oid, conname name, connamespace oid, contype pg_char, condeferrable bool,"
        " condeferred bool, convalidated bool, conrelid oid, contypid oid, conindid oid,"
        " conparentid oid, confrelid oid, confupdtype pg_char, confdeltype pg_char,"
        " confmatchtype pg_char, conislocal bool, coninhcount int4, connoinherit bool,"
        " conkey _int2 text, confkey _int2 text, conpfeqop _oid text,"
        " conppeqop _oid text, conffeqop _oid text, confdelsetcols _int2 text,"
        " conexclop _oid text, conbin pg_node_tree text"),
    "pg_attrdef": "oid oid, adrelid oid, adnum int2, adbin pg_node_tree text",
    "pg_database": (
        "oid oid, datname name, datdba oid, encoding int4, datlocprovider pg_char,"
        " datistemplate bool, datallowconn bool, datconnlimit int4, datfrozenxid xid text,"
        " datminmxid xid text, dattablespace oid, datcollate text, datctype text,"
        " daticulocale text, daticurules text, datcollversion text, datacl _aclitem text"),
    "pg_authid": (
        "oid oid, rolname name, rolsuper bool, rolinherit bool, rolcreaterole bool,"
        " rolcreatedb bool, rolcanlogin bool, rolreplication bool, rolbypassrls bool,"
        " rolconnlimit int4, rolpassword text, rolvaliduntil timestamptz"),
    "pg_auth_members": (
        "oid oid, roleid oid, member oid, grantor oid, admin_option bool, inherit_option bool,"
        " set_option bool"),
    "pg_proc": (
        "oid oid, proname name, pronamespace oid, proowner oid, prolang oid, procost float4,"
        " prorows float4, provariadic oid, prosupport regproc text, prokind pg_char,"
        " prosecdef bool, proleakproof bool, proisstrict bool, proretset bool,"
        " provolatile pg_char, proparallel pg_char, pronargs int2, pronargdefaults int2,"
        " prorettype oid, proargtypes oidvector text, proallargtypes _oid text,"
        " proargmodes _char text, proargnames _text text, proargdefaults pg_node_tree text,"
        " protrftypes _oid text, prosrc text, probin text, prosqlbody pg_node_tree text,"
        " proconfig _text text, proacl _aclitem text"),
    "pg_description": "objoid oid, classoid oid, objsubid int4, description text",
    "pg_shdescription": "objoid oid, classoid oid, description text",
    "pg_settings": (
        "name text, setting text, unit text, category text, short_desc text, extra_desc text,"
        " context text, vartype text, source text, min_val text, max_val text,"
        " enumvals _text text, boot_val text, reset_val text, sourcefile text,"
        " sourceline int4, pending_restart bool"),
    "pg_am": "oid oid, amname name, amhandler regproc text, amtype pg_char",
    "pg_extension": (
        "oid oid, extname name, extowner oid, extnamespace oid, extrelocatable bool,"
        " extversion text, extconfig _oid text, extcondition _text text"),
    "pg_enum": "oid oid, enumtypid oid, enumsortorder float4, enumlabel name",
    "pg_collation": (
        "oid oid, collname name, collnamespace oid, collowner oid, collprovider pg_char,"
        " collisdeterministic bool, collencoding int4, collcollate text, collctype text,"
        " colliculocale text, collicurules text, collversion text"),
    "pg_inherits": "inhrelid oid, inhparent oid, inhseqno int4, inhdetachpending bool",
    "pg_tablespace": (
        "oid oid, spcname name, spcowner oid, spcacl _aclitem text, spcoptions _text text"),
    "pg_language": (
        "oid oid, lanname name, lanowner oid, lanispl bool, lanpltrusted bool,"
        " lanplcallfoid oid, laninline oid, lanvalidator oid, lanacl _aclitem text"),
    "pg_trigger": (
        "oid oid, tgrelid oid, tgparentid oid, tgname name, tgfoid oid, tgtype int2,"
        " tgenabled pg_char, tgisinternal bool, tgconstrrelid oid, tgconstrindid oid,"
        " tgconstraint oid, tgdeferrable bool, tginitdeferred bool, tgnargs int2,"
        " tgattr int2vector text, tgargs bytea, tgqual pg_node_tree text,"
        " tgoldtable name, tgnewtable name"),
    "pg_policy": (
        "oid oid, polname name, polrelid oid, polcmd pg_char, polpermissive bool,"
        " polroles _oid text, polqual pg_node_tree text, polwithcheck pg_node_tree text"),
    "pg_rewrite": (
        "oid oid, rulename name, ev_class oid, ev_type pg_char, ev_enabled pg_char,"
        " is_instead bool, ev_qual pg_node_tree text, ev_action pg_node_tree text"),
    "pg_depend": (
        "classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid, refobjsubid int4,"
        " deptype pg_char"),
    "pg_statistic_ext": (
        "oid oid, stxrelid oid, stxname name, stxnamespace oid, stxowner oid,"
        " stxstattarget int4, stxkeys int2vector text, stxkind _char text,"
        " stxexprs pg_node_tree text"),
    "pg_publication": (
        "oid oid, pubname name, pubowner oid, puballtables bool, pubinsert bool,"
        " pubupdate bool, pubdelete bool, pubtruncate bool, pubviaroot bool"),
    "pg_publication_rel": (
        "oid oid, prpubid oid, prrelid oid, prqual pg_node_tree text, prattrs int2vector text"),
    "pg_publication_namespace": "oid oid, pnpubid oid, pnnspid oid",
    "pg_partitioned_table": (
        "partrelid oid, partstrat pg_char, partnatts int2, partdefid oid,"
        " partattrs int2vector text, partclass oidvector text,"
        " partcollation oidvector text, partexprs pg_node_tree text"),
    "pg_foreign_table": "ftrelid oid, ftserver oid, ftoptions _text text",
    "pg_sequence": (
        "seqrelid oid, seqtypid oid, seqstart int8, seqincrement int8, seqmax int8, seqmin int8,"
        " seqcache int8, seqcycle bool"),
    "pg_opclass": (
        "oid oid, opcmethod oid, opcname name, opcnamespace oid, opcowner oid, opcfamily oid,"
        " opcintype oid, opcdefault bool, opckeytype oid"),
    "pg_operator": (
        "oid oid, oprname name, oprnamespace oid, oprowner oid, oprkind pg_char,"
        " oprcanmerge bool, oprcanhash bool, oprleft oid, oprright oid, oprresult oid,"
        " oprcom oid, oprnegate oid, oprcode regproc text, oprrest regproc text,"
        " oprjoin regproc text"),
    "pg_cast": (
        "oid oid, castsource oid, casttarget oid, castfunc oid, castcontext pg_char,"
        " castmethod pg_char"),
    "pg_event_trigger": (
        "oid oid, evtname name, evtevent name, evtowner oid, evtfoid oid, evtenabled pg_char,"
        " evttags _text text"),
    "pg_conversion": (
        "oid oid, conname name, connamespace oid, conowner oid, conforencoding int4,"
        " contoencoding int4, conproc regproc text, condefault bool"),
    "pg_default_acl": (
        "oid oid, defaclrole oid, defaclnamespace oid, defaclobjtype pg_char,"
        " defaclacl _aclitem text"),
    "pg_init_privs": (
        "objoid oid, classoid oid, objsubid int4, privtype pg_char, initprivs _aclitem text"),
    "pg_seclabel": "objoid oid, classoid oid, objsubid int4, provider text, label text",
    "pg_foreign_data_wrapper": (
        "oid oid, fdwname name, fdwowner oid, fdwhandler oid, fdwvalidator oid,"
        " fdwacl _aclitem text, fdwoptions _text text"),
    "pg_foreign_server": (
        "oid oid, srvname name, srvowner oid, srvfdw oid, srvtype text, srvversion text,"
        " srvacl _aclitem text, srvoptions _text text"),
    # Read by psql's rarer commands; empty here.
    "pg_opfamily": "oid oid, opfmethod oid, opfname name, opfnamespace oid, opfowner oid",
    "pg_aggregate": (
        "aggfnoid regproc text, aggkind pg_char, aggnumdirectargs int2, aggtransfn regproc text,"
        " aggfinalfn regproc text, aggtranstype oid, agginitval text"),
    "pg_amop": (
        "oid oid, amopfamily oid, amoplefttype oid, amoprighttype oid, amopstrategy int2,"
        " amoppurpose pg_char, amopopr oid, amopmethod oid, amopsortfamily oid"),
    "pg_amproc": (
        "oid oid, amprocfamily oid, amproclefttype oid, amprocrighttype oid, amprocnum int2,"
        " amproc regproc text"),
    "pg_ts_config": "oid oid, cfgname name, cfgnamespace oid, cfgowner oid, cfgparser oid",
    "pg_ts_dict": (
        "oid oid, dictname name, dictnamespace oid, dictowner oid, dicttemplate oid,"
        " dictinitoption text"),
    "pg_ts_parser": (
        "oid oid, prsname name, prsnamespace oid, prsstart regproc text, prstoken regproc text,"
        " prsend regproc text, prsheadline regproc text, prslextype regproc text"),
    "pg_ts_template": (
        "oid oid, tmplname name, tmplnamespace oid, tmplinit regproc text, tmpllexize regproc text"),
    "pg_db_role_setting": "setdatabase oid, setrole oid, setconfig _text text",
    "pg_transform": (
        "oid oid, trftype oid, trflang oid, trffromsql regproc text, trftosql regproc text"),
    "pg_largeobject_metadata": "oid oid, lomowner oid, lomacl _aclitem text",
    "pg_user_mapping": "oid oid, umuser oid, umserver oid, umoptions _text text",
    "pg_subscription": (
        "oid oid, subdbid oid, subname name, subowner oid, subenabled bool, subconninfo text,"
        " subslotname name, subsynccommit text, subpublications _text text"),
    "pg_shdepend": (
        "dbid oid, classid oid, objid oid, objsubid int4, refclassid oid, refobjid oid,"
        " deptype pg_char"),
    "pg_statistic": "starelid oid, staattnum int2, stainherit bool, stanullfrac float4",
}

# Views of pg_catalog, as SQLite views over the relations above.
PG_CATALOG_VIEWS = {
    "pg_roles": (
        "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,"
        " rolreplication, rolconnlimit, '********' AS rolpassword, rolvaliduntil, rolbypassrls,"
        " NULL AS rolconfig, oid FROM pg_authid"),
    "pg_user": (
        "SELECT rolname AS usename, oid AS usesysid, rolcreatedb AS usecreatedb,"
        " rolsuper AS usesuper, rolreplication AS userepl, rolbypassrls AS usebypassrls,"
        " '********' AS passwd, rolvaliduntil AS valuntil, NULL AS useconfig"
        " FROM pg_authid WHERE rolcanlogin"),
    "pg_group": "SELECT rolname AS groname, oid AS grosysid, '{}' AS grolist FROM pg_authid WHERE NOT rolcanlogin",
    "pg_tables": (
        "SELECT n.nspname AS schemaname, c.relname AS tablename,"
        " pg_get_userbyid(c.relowner) AS tableowner, NULL AS tablespace,"
        " c.relhasindex AS hasindexes, c.relhasrules AS hasrules,"
        " c.relhastriggers AS hastriggers, c.relrowsecurity AS rowsecurity"
        " FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p')"),
    "pg_views": (
        "SELECT n.nspname AS schemaname, c.relname AS viewname,"
        " pg_get_userbyid(c.relowner) AS viewowner, pg_get_viewdef(c.oid) AS definition"
        " FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'v'"),
    "pg_matviews": (
        "SELECT n.nspname AS schemaname, c.relname AS matviewname, '' AS matviewowner,"
        " NULL AS tablespace, 0 AS hasindexes, 1 AS ispopulated, '' AS definition"
        " FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm'"),
    "pg_indexes": (
        "SELECT n.nspname AS schemaname, c.relname AS tablename, i.relname AS indexname,"
        " NULL AS tablespace, pg_get_indexdef(i.oid) AS indexdef FROM pg_index x"
        " JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid"
        " LEFT JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm', 'p')"),
    "pg_sequences": (
        "SELECT '' AS schemaname, '' AS sequencename, '' AS sequenceowner, 0 AS data_type,"
        " 0 AS start_value, 0 AS min_value, 0 AS max_value, 0 AS increment_by, 0 AS cycle,"
        " 0 AS cache_size, 0 AS last_value WHERE 0"),
    "pg_stat_activity": (
        "SELECT 0 AS datid, current_database() AS datname, pg_backend_pid() AS pid,"
        " current_user() AS usename, 'active' AS state, '' AS query, '' AS application_name"
        " WHERE 0"),
}

# information_schema's views, as tables of their own database (attached as
# `information_schema`), filled from the same snapshot as pg_catalog.
INFORMATION_SCHEMA = {
    "schemata": (
        "catalog_name varchar, schema_name varchar, schema_owner varchar,"
        " default_character_set_catalog varchar, default_character_set_schema varchar,"
        " default_character_set_name varchar, sql_path varchar"),
    "tables": (
        "table_catalog varchar, table_schema varchar, table_name varchar, table_type varchar,"
        " self_referencing_column_name varchar, reference_generation varchar,"
        " user_defined_type_catalog varchar, user_defined_type_schema varchar,"
        " user_defined_type_name varchar, is_insertable_into varchar, is_typed varchar,"
        " commit_action varchar"),
    "columns": (
        "table_catalog varchar, table_schema varchar, table_name varchar, column_name varchar,"
        " ordinal_position int4, column_default varchar, is_nullable varchar, data_type varchar,"
        " character_maximum_length int4, character_octet_length int4, numeric_precision int4,"
        " numeric_precision_radix int4, numeric_scale int4, datetime_precision int4,"
        " interval_type varchar, interval_precision int4, character_set_catalog varchar,"
        " character_set_schema varchar, character_set_name varchar, collation_catalog varchar,"
        " collation_schema varchar, collation_name varchar, domain_catalog varchar,"
        " domain_schema varchar, domain_name varchar, udt_catalog varchar, udt_schema varchar,"
        " udt_name varchar, scope_catalog varchar, scope_schema varchar, scope_name varchar,"
        " maximum_cardinality int4, dtd_identifier varchar, is_self_referencing varchar,"
        " is_identity varchar, identity_generation varchar, identity_start varchar,"
        " identity_increment varchar, identity_maximum varchar, identity_minimum varchar,"
        " identity_cycle varchar, is_generated varchar, generation_expression varchar,"
        " is_updatable varchar"),
    "table_constraints": (
        "constraint_catalog varchar, constraint_schema varchar, constraint_name varchar,"
        " table_catalog varchar, table_schema varchar, table_name varchar,"
        " constraint_type varchar, is_deferrable varchar, initially_deferred varchar,"
        " enforced varchar, nulls_distinct varchar"),
    "key_column_usage": (
        "constraint_catalog varchar, constraint_schema varchar, constraint_name varchar,"
        " table_catalog varchar, table_schema varchar, table_name varchar, column_name varchar,"
        " ordinal_position int4, position_in_unique_constraint int4"),
    "referential_constraints": (
        "constraint_catalog varchar, constraint_schema varchar, constraint_name varchar,"
        " unique_constraint_catalog varchar, unique_constraint_schema varchar,"
        " unique_constraint_name varchar, match_option varchar, update_rule varchar,"
        " delete_rule varchar"),
    "constraint_column_usage": (
        "table_catalog varchar, table_schema varchar, table_name varchar, column_name varchar,"
        " constraint_catalog varchar, constraint_schema varchar, constraint_name varchar"),
    "check_constraints": (
        "constraint_catalog varchar, constraint_schema varchar, constraint_name varchar,"
        " check_clause varchar"),
    "views": (
        "table_catalog varchar, table_schema varchar, table_name varchar,"
        " view_definition varchar, check_option varchar, is_updatable varchar,"
        " is_insertable_into varchar, is_trigger_updatable varchar,"
        " is_trigger_deletable varchar, is_trigger_insertable_into varchar"),
    "sequences": (
        "sequence_catalog varchar, sequence_schema varchar, sequence_name varchar,"
        " data_type varchar, numeric_precision int4, numeric_precision_radix int4,"
        " numeric_scale int4, start_value varchar, minimum_value varchar,"
        " maximum_value varchar, increment varchar, cycle_option varchar"),
}

# Fixed OIDs of pg_catalog's own relations (PostgreSQL's), so that
# 'pg_class'::regclass and obj_description(oid, 'pg_class') work.
CATALOG_RELATION_OIDS = {
    "pg_type": 1247, "pg_attribute": 1249, "pg_proc": 1255, "pg_class": 1259, "pg_authid": 1260,
    "pg_auth_members": 1261, "pg_database": 1262, "pg_tablespace": 1213, "pg_am": 2601,
    "pg_attrdef": 2604, "pg_cast": 2605, "pg_constraint": 2606, "pg_conversion": 2607,
    "pg_depend": 2608, "pg_description": 2609, "pg_index": 2610, "pg_inherits": 2611,
    "pg_language": 2612, "pg_namespace": 2615, "pg_opclass": 2616, "pg_operator": 2617,
    "pg_rewrite": 2618, "pg_trigger": 2620, "pg_enum": 3501, "pg_extension": 3079,
    "pg_collation": 3456, "pg_range": 3541, "pg_shdescription": 2396, "pg_policy": 3256,
    "pg_statistic_ext": 3381, "pg_publication": 6104, "pg_publication_rel": 6106,
    "pg_publication_namespace": 6237, "pg_partitioned_table": 3350, "pg_foreign_table": 3118,
    "pg_sequence": 2224, "pg_event_trigger": 3466, "pg_default_acl": 826, "pg_init_privs": 3394,
    "pg_seclabel": 3596, "pg_foreign_data_wrapper": 2328, "pg_foreign_server": 1417,
    "pg_roles": 12001, "pg_user": 12002, "pg_group": 12003, "pg_tables": 12004, "pg_views": 12005,
    "pg_matviews": 12006, "pg_indexes": 12007, "pg_sequences": 12008, "pg_settings": 12009,
    "pg_stat_activity": 12010, "pg_opfamily": 2753, "pg_aggregate": 2600, "pg_amop": 2602,
    "pg_amproc": 2603, "pg_ts_config": 3602, "pg_ts_dict": 3600, "pg_ts_parser": 3601,
    "pg_ts_template": 3764, "pg_db_role_setting": 2964, "pg_transform": 3576,
    "pg_largeobject_metadata": 2995, "pg_user_mapping": 1418, "pg_subscription": 6100,
    "pg_shdepend": 1214, "pg_statistic": 2619,
}

BOOTSTRAP_SUPERUSER = 10
PLPGSQL_EXTENSION, VECTOR_EXTENSION = 13500, 16384
PLPGSQL_LANGUAGE = 13499
DATABASE_OID = 16383  # the one database a worker serves; template databases below it

STATIC_ROWS = {
    "pg_am": [(2, "heap", "heap_tableam_handler", "t"), (403, "btree", "bthandler", "i"),
              (405, "hash", "hashhandler", "i"), (783, "gist", "gisthandler", "i"),
              (2742, "gin", "ginhandler", "i"), (4000, "spgist", "spghandler", "i"),
              (3580, "brin", "brinhandler", "i")],
    "pg_extension": [(PLPGSQL_EXTENSION, "plpgsql", BOOTSTRAP_SUPERUSER, 11, 0, "1.0", None, None),
                     (VECTOR_EXTENSION, "vector", BOOTSTRAP_SUPERUSER, 2200, 1, "0.8.0", None, None)],
    "pg_collation": [(100, "default", 11, 10, "d", 1, -1, None, None, None, None, None),
                     (950, "C", 11, 10, "c", 1, -1, "C", "C", None, None, None),
                     (951, "POSIX", 11, 10, "c", 1, -1, "POSIX", "POSIX", None, None, None)],
    "pg_tablespace": [(1663, "pg_default", 10, None, None), (1664, "pg_global", 10, None, None)],
    "pg_language": [(12, "internal", 10, 0, 0, 0, 0, 2246, None), (13, "c", 10, 0, 0, 0, 0, 2247, None),
                    (14, "sql", 10, 0, 1, 0, 0, 2248, None),
                    (PLPGSQL_LANGUAGE, "plpgsql", 10, 1, 1, 13496, 13497, 13498, None)],
}

DESCRIPTIONS = [
    (PLPGSQL_EXTENSION, 3079, 0, "PL/pgSQL procedural language"),
    (VECTOR_EXTENSION, 3079, 0, "vector data type and ivfflat and hnsw access methods"),
]

# Integer date/times, UTF-8, ISO dates: what the front end announces.
SETTINGS = (
    ("server_encoding", "UTF8"), ("client_encoding", "UTF8"), ("DateStyle", "ISO, MDY"),
    ("TimeZone", "UTC"), ("integer_datetimes", "on"), ("standard_conforming_strings", "on"),
    ("max_identifier_length", "63"), ("max_index_keys", "32"), ("block_size", "8192"),
    ("search_path", '"$user", public'), ("lc_collate", "C"), ("lc_ctype", "C"),
    ("default_transaction_isolation", "read committed"),
    ("transaction_isolation", "read committed"), ("default_transaction_read_only", "off"),
    ("is_superuser", "on"), ("IntervalStyle", "postgres"), ("extra_float_digits", "1"),
    ("application_name", ""), ("statement_timeout", "0"), ("max_connections", "100"),
    ("default_tablespace", ""), ("row_security", "on"), ("bytea_output", "hex"),
    ("default_table_access_method", "heap"), ("server_version_num", "160006"),
)
