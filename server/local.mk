# server: the daemon.
server_libpolltgt_a_SOURCES += \
	server/log.c server/log.h \
	server/acl.c server/acl.h \
	server/config.h server/config-internal.h \
	server/config-load.c server/config-keys.c server/config-value.c \
	server/config-error.c server/config-export.c server/config-finish.c \
	server/config-remote.c \
	server/config-reload.c server/config-reload.h \
	server/daemon.c server/daemon.h \
	server/privs.c server/privs.h \
	server/systemd.c server/systemd.h \
	server/mainloop.c server/mainloop.h \
	server/server.c server/server.h \
	server/iothread.c server/iothread.h \
	server/listen.c server/listen.h \
	server/export.c server/export.h \
	server/frontend.c server/frontend.h \
	server/txq.c server/conn.c server/conn.h server/txq.h \
	server/tls.c server/tls.h server/tls-psk.c server/tls-psk.h

sbin_PROGRAMS += server/polltgtd
server_polltgtd_SOURCES = server/main.c
server_polltgtd_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(INIH_CFLAGS)
server_polltgtd_LDADD = $(POLLTGT_LIBS)

# The configuration tests: one binary per part of the loader, sharing
# tests/unit/config-test-helpers.h.
check_PROGRAMS += tests/unit/test-config-keys
TESTS += tests/unit/test-config-keys
tests_unit_test_config_keys_SOURCES = tests/unit/test-config-keys.c \
	tests/unit/config-test-helpers.h
tests_unit_test_config_keys_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_keys_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-config-values
TESTS += tests/unit/test-config-values
tests_unit_test_config_values_SOURCES = tests/unit/test-config-values.c \
	tests/unit/config-test-helpers.h
tests_unit_test_config_values_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_values_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-config-export
TESTS += tests/unit/test-config-export
tests_unit_test_config_export_SOURCES = tests/unit/test-config-export.c \
	tests/unit/config-test-helpers.h
tests_unit_test_config_export_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_export_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-config-remote
TESTS += tests/unit/test-config-remote
tests_unit_test_config_remote_SOURCES = tests/unit/test-config-remote.c \
	tests/unit/config-test-helpers.h
tests_unit_test_config_remote_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_remote_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-config-iscsi
TESTS += tests/unit/test-config-iscsi
tests_unit_test_config_iscsi_SOURCES = tests/unit/test-config-iscsi.c \
	tests/unit/config-test-helpers.h
tests_unit_test_config_iscsi_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_iscsi_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-config-load
TESTS += tests/unit/test-config-load
tests_unit_test_config_load_SOURCES = tests/unit/test-config-load.c \
	tests/unit/config-test-helpers.h
tests_unit_test_config_load_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_config_load_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-txq
TESTS += tests/unit/test-txq
tests_unit_test_txq_SOURCES = tests/unit/test-txq.c
tests_unit_test_txq_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_txq_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-conn
TESTS += tests/unit/test-conn
tests_unit_test_conn_SOURCES = tests/unit/test-conn.c
tests_unit_test_conn_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_conn_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-tls
TESTS += tests/unit/test-tls
tests_unit_test_tls_SOURCES = tests/unit/test-tls.c \
	tests/unit/config-test-helpers.h
tests_unit_test_tls_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(INIH_CFLAGS)
tests_unit_test_tls_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
