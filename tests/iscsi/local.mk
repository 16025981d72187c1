# tests/iscsi: protocol tests with real iSCSI clients (libiscsi).
#
# Each C test starts its own polltgtd through iscsi-test-helpers.h (which
# builds on tests/server-test-helpers.h, shared with tests/nbd); the raw-socket
# parts (digests, malformed PDUs) are in the same header.  ISCSI_TEST_URL
# points the C tests at another target instead (see iscsi-test-helpers.h).
ISCSI_TESTS = \
	tests/iscsi/test-iscsi-login \
	tests/iscsi/test-iscsi-io \
	tests/iscsi/test-iscsi-tmf \
	tests/iscsi/test-iscsi-malformed \
	tests/iscsi/test-iscsi-pr \
	tests/iscsi/test-iscsi-race \
	tests/iscsi/test-iscsi-sanitize \
	tests/iscsi/test-iscsi-drain

check_PROGRAMS += $(ISCSI_TESTS) tests/iscsi/test-iscsi-copy
TESTS += $(ISCSI_TESTS)
EXTRA_DIST += tests/iscsi/iscsi-test-helpers.h tests/server-test-helpers.h

tests_iscsi_test_iscsi_login_SOURCES = tests/iscsi/test-iscsi-login.c
tests_iscsi_test_iscsi_login_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
tests_iscsi_test_iscsi_login_LDADD = $(LIBISCSI_LIBS)

tests_iscsi_test_iscsi_io_SOURCES = tests/iscsi/test-iscsi-io.c
tests_iscsi_test_iscsi_io_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
tests_iscsi_test_iscsi_io_LDADD = $(LIBISCSI_LIBS)

tests_iscsi_test_iscsi_tmf_SOURCES = tests/iscsi/test-iscsi-tmf.c
tests_iscsi_test_iscsi_tmf_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
tests_iscsi_test_iscsi_tmf_LDADD = $(LIBISCSI_LIBS)

tests_iscsi_test_iscsi_pr_SOURCES = tests/iscsi/test-iscsi-pr.c
tests_iscsi_test_iscsi_pr_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
tests_iscsi_test_iscsi_pr_LDADD = $(LIBISCSI_LIBS)

tests_iscsi_test_iscsi_race_SOURCES = tests/iscsi/test-iscsi-race.c
tests_iscsi_test_iscsi_race_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
tests_iscsi_test_iscsi_race_LDADD = $(LIBISCSI_LIBS)

tests_iscsi_test_iscsi_sanitize_SOURCES = tests/iscsi/test-iscsi-sanitize.c
tests_iscsi_test_iscsi_sanitize_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
tests_iscsi_test_iscsi_sanitize_LDADD = $(LIBISCSI_LIBS)

tests_iscsi_test_iscsi_drain_SOURCES = tests/iscsi/test-iscsi-drain.c
tests_iscsi_test_iscsi_drain_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
tests_iscsi_test_iscsi_drain_LDADD = $(LIBISCSI_LIBS)

# Raw sockets for the malformed input; libiscsi for the checks after it.
tests_iscsi_test_iscsi_malformed_SOURCES = tests/iscsi/test-iscsi-malformed.c
tests_iscsi_test_iscsi_malformed_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
tests_iscsi_test_iscsi_malformed_LDADD = $(LIBISCSI_LIBS)

# Not a test: copies a file onto a LUN or a LUN into a file, for the shell
# tests (test-iscsi-cross.sh).
tests_iscsi_test_iscsi_copy_SOURCES = tests/iscsi/test-iscsi-copy.c
tests_iscsi_test_iscsi_copy_CFLAGS = $(AM_CFLAGS) $(LIBISCSI_CFLAGS)
tests_iscsi_test_iscsi_copy_LDADD = $(LIBISCSI_LIBS)

ISCSI_SH_TESTS = \
	tests/iscsi/test-iscsi-tools.sh \
	tests/iscsi/test-iscsi-cross.sh \
	tests/iscsi/test-iscsi-fuzz.sh \
	tests/iscsi/test-iscsi-conformance.sh
TESTS += $(ISCSI_SH_TESTS)
EXTRA_DIST += $(ISCSI_SH_TESTS)
# The iscsi-test-cu tests test-iscsi-conformance.sh requires to pass.
EXTRA_DIST += tests/iscsi/conformance-expected.txt
EXTRA_DIST += tests/iscsi/fuzz-iscsi.py
