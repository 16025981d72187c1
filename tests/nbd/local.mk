# tests/nbd: NBD protocol tests against a real polltgtd (see
# tests/README.tests).  Each C test starts its own server through
# nbd-test-helpers.h; the libnbd ones link libnbd, the malformed-input
# test speaks raw sockets.
NBD_TESTS = \
	tests/nbd/test-nbd-handshake \
	tests/nbd/test-nbd-commands \
	tests/nbd/test-nbd-errors \
	tests/nbd/test-nbd-inflight \
	tests/nbd/test-nbd-multiconn \
	tests/nbd/test-nbd-serving \
	tests/nbd/test-nbd-malformed \
	tests/nbd/test-nbd-extended \
	tests/nbd/test-nbd-large

check_PROGRAMS += $(NBD_TESTS)
TESTS += $(NBD_TESTS)
EXTRA_DIST += tests/nbd/nbd-test-helpers.h

tests_nbd_test_nbd_handshake_SOURCES = tests/nbd/test-nbd-handshake.c
tests_nbd_test_nbd_handshake_CFLAGS = $(AM_CFLAGS) $(LIBNBD_CFLAGS)
tests_nbd_test_nbd_handshake_LDADD = $(LIBNBD_LIBS)

tests_nbd_test_nbd_commands_SOURCES = tests/nbd/test-nbd-commands.c
tests_nbd_test_nbd_commands_CFLAGS = $(AM_CFLAGS) $(LIBNBD_CFLAGS)
tests_nbd_test_nbd_commands_LDADD = $(LIBNBD_LIBS)

tests_nbd_test_nbd_errors_SOURCES = tests/nbd/test-nbd-errors.c
tests_nbd_test_nbd_errors_CFLAGS = $(AM_CFLAGS) $(LIBNBD_CFLAGS)
tests_nbd_test_nbd_errors_LDADD = $(LIBNBD_LIBS)

tests_nbd_test_nbd_inflight_SOURCES = tests/nbd/test-nbd-inflight.c
tests_nbd_test_nbd_inflight_CFLAGS = $(AM_CFLAGS) $(LIBNBD_CFLAGS)
tests_nbd_test_nbd_inflight_LDADD = $(LIBNBD_LIBS)

tests_nbd_test_nbd_multiconn_SOURCES = tests/nbd/test-nbd-multiconn.c
tests_nbd_test_nbd_multiconn_CFLAGS = $(AM_CFLAGS) $(LIBNBD_CFLAGS)
tests_nbd_test_nbd_multiconn_LDADD = $(LIBNBD_LIBS)

tests_nbd_test_nbd_serving_SOURCES = tests/nbd/test-nbd-serving.c
tests_nbd_test_nbd_serving_CFLAGS = $(AM_CFLAGS) $(LIBNBD_CFLAGS)
tests_nbd_test_nbd_serving_LDADD = $(LIBNBD_LIBS)

# Raw sockets only: no libnbd.
tests_nbd_test_nbd_malformed_SOURCES = tests/nbd/test-nbd-malformed.c
tests_nbd_test_nbd_malformed_CFLAGS = $(AM_CFLAGS)
tests_nbd_test_nbd_extended_SOURCES = tests/nbd/test-nbd-extended.c
tests_nbd_test_nbd_extended_CFLAGS = $(AM_CFLAGS)
tests_nbd_test_nbd_large_SOURCES = tests/nbd/test-nbd-large.c
tests_nbd_test_nbd_large_CFLAGS = $(AM_CFLAGS)

TESTS += tests/nbd/test-nbd-drain-idle.sh
EXTRA_DIST += tests/nbd/test-nbd-drain-idle.sh
