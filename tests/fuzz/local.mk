# tests/fuzz: libFuzzer harnesses, built only by ./configure --enable-fuzzing
# (CC=clang; contrib/fuzz.sh and contrib/setup.sh check use build-fuzz/).
# Each links the objects of server/libpolltgt.a that polltgtd runs, compiled
# with coverage for libFuzzer.
EXTRA_DIST += tests/fuzz/fuzz-helpers.h tests/fuzz/fuzz-nbd.h \
	tests/fuzz/fuzz-iscsi.h tests/fuzz/fuzz-check.sh \
	tests/fuzz/make-corpus.py tests/fuzz/corpus

if FUZZING
FUZZ_CFLAGS_ = $(AM_CFLAGS) $(URING_CFLAGS) $(INIH_CFLAGS)
FUZZ_LDADD_ = $(POLLTGT_LIBS)
FUZZ_LDFLAGS_ = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

FUZZ_HARNESSES = tests/fuzz/fuzz-nbd-handshake tests/fuzz/fuzz-nbd-request \
	tests/fuzz/fuzz-iscsi-pdu tests/fuzz/fuzz-iscsi-login \
	tests/fuzz/fuzz-scsi-cdb tests/fuzz/fuzz-config
noinst_PROGRAMS += $(FUZZ_HARNESSES)

tests_fuzz_fuzz_nbd_handshake_SOURCES = tests/fuzz/fuzz-nbd-handshake.c
tests_fuzz_fuzz_nbd_handshake_CFLAGS = $(FUZZ_CFLAGS_)
tests_fuzz_fuzz_nbd_handshake_LDFLAGS = $(FUZZ_LDFLAGS_)
tests_fuzz_fuzz_nbd_handshake_LDADD = $(FUZZ_LDADD_)

tests_fuzz_fuzz_nbd_request_SOURCES = tests/fuzz/fuzz-nbd-request.c
tests_fuzz_fuzz_nbd_request_CFLAGS = $(FUZZ_CFLAGS_)
tests_fuzz_fuzz_nbd_request_LDFLAGS = $(FUZZ_LDFLAGS_)
tests_fuzz_fuzz_nbd_request_LDADD = $(FUZZ_LDADD_)

tests_fuzz_fuzz_iscsi_pdu_SOURCES = tests/fuzz/fuzz-iscsi-pdu.c
tests_fuzz_fuzz_iscsi_pdu_CFLAGS = $(FUZZ_CFLAGS_)
tests_fuzz_fuzz_iscsi_pdu_LDFLAGS = $(FUZZ_LDFLAGS_)
tests_fuzz_fuzz_iscsi_pdu_LDADD = $(FUZZ_LDADD_)

tests_fuzz_fuzz_iscsi_login_SOURCES = tests/fuzz/fuzz-iscsi-login.c
tests_fuzz_fuzz_iscsi_login_CFLAGS = $(FUZZ_CFLAGS_)
tests_fuzz_fuzz_iscsi_login_LDFLAGS = $(FUZZ_LDFLAGS_)
tests_fuzz_fuzz_iscsi_login_LDADD = $(FUZZ_LDADD_)

tests_fuzz_fuzz_scsi_cdb_SOURCES = tests/fuzz/fuzz-scsi-cdb.c
tests_fuzz_fuzz_scsi_cdb_CFLAGS = $(FUZZ_CFLAGS_)
tests_fuzz_fuzz_scsi_cdb_LDFLAGS = $(FUZZ_LDFLAGS_)
tests_fuzz_fuzz_scsi_cdb_LDADD = $(FUZZ_LDADD_)

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c
tests_fuzz_fuzz_config_CFLAGS = $(FUZZ_CFLAGS_)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LDFLAGS_)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LDADD_)

# Every harness for a few seconds on its checked-in corpus (which holds
# the regression inputs), as part of this build's make check.
TESTS += tests/fuzz/fuzz-check.sh

# Only the harnesses (and the library), not the daemon and the tests:
# what contrib/setup.sh builds in build-fuzz/.
fuzz-harnesses: $(FUZZ_HARNESSES)

# fuzz-check.sh on its own (contrib/setup.sh check runs this, not the
# whole suite a third time).
fuzz-check: $(FUZZ_HARNESSES) tests/functions.sh
	$(TESTS_ENVIRONMENT) $(SHELL) $(top_srcdir)/tests/fuzz/fuzz-check.sh
.PHONY: fuzz-harnesses fuzz-check
endif
