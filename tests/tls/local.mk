# tests/tls: NBD over TLS (NBD_OPT_STARTTLS) with real clients: libnbd's
# nbdinfo and nbdcopy, qemu-img and qemu-io, and a raw client for what
# they will not do.  Certificates (certtool) and PSK keys (psktool) are
# made at test time in the test's temporary directory.
TLS_TESTS = \
	tests/tls/test-tls-libnbd.sh \
	tests/tls/test-tls-modes.sh \
	tests/tls/test-tls-qemu.sh \
	tests/tls/test-tls-reload.sh \
	tests/tls/test-tls-check-config.sh \
	tests/tls/test-tls-keyupdate.sh
TESTS += $(TLS_TESTS)
check_PROGRAMS += tests/tls/nbd-tls-keyupdate
tests_tls_nbd_tls_keyupdate_SOURCES = tests/tls/nbd-tls-keyupdate.c
tests_tls_nbd_tls_keyupdate_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
tests_tls_nbd_tls_keyupdate_LDADD = $(GNUTLS_LIBS)
EXTRA_DIST += $(TLS_TESTS) tests/tls/tls-functions.sh tests/tls/nbd-tls-raw.py
