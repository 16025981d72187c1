# server/scsi: the SCSI target core (SPC/SBC), transport-independent.
server_libpolltgt_a_SOURCES += \
	server/scsi/scsi-protocol.h server/scsi/scsi-internal.h \
	server/scsi/scsi-cmd.c server/scsi/scsi-cmd.h \
	server/scsi/scsi-sense.c \
	server/scsi/scsi-spc.c \
	server/scsi/scsi-rsoc.c \
	server/scsi/scsi-sbc.c \
	server/scsi/scsi-caw.c \
	server/scsi/scsi-pr.c server/scsi/scsi-pr.h \
	server/scsi/scsi-pr-internal.h \
	server/scsi/scsi-pr-check.c server/scsi/scsi-pr-reserve.c \
	server/scsi/scsi-pr-in.c server/scsi/scsi-pr-out.c \
	server/scsi/scsi-pr-aptpl.c \
	server/scsi/scsi-range.c \
	server/scsi/scsi-lbp.c \
	server/scsi/scsi-sanitize.c \
	server/scsi/scsi-step.c

check_PROGRAMS += tests/unit/test-scsi-cmd tests/unit/test-scsi-spc \
	tests/unit/test-scsi-sbc tests/unit/test-scsi-provisioning \
	tests/unit/test-scsi-pr tests/unit/test-scsi-sanitize
TESTS += tests/unit/test-scsi-cmd tests/unit/test-scsi-spc \
	tests/unit/test-scsi-sbc tests/unit/test-scsi-provisioning \
	tests/unit/test-scsi-pr tests/unit/test-scsi-sanitize
tests_unit_test_scsi_sanitize_SOURCES = tests/unit/test-scsi-sanitize.c
tests_unit_test_scsi_sanitize_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_scsi_sanitize_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
tests_unit_test_scsi_cmd_SOURCES = tests/unit/test-scsi-cmd.c
tests_unit_test_scsi_cmd_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_scsi_cmd_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
tests_unit_test_scsi_spc_SOURCES = tests/unit/test-scsi-spc.c
tests_unit_test_scsi_spc_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_scsi_spc_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
tests_unit_test_scsi_sbc_SOURCES = tests/unit/test-scsi-sbc.c
tests_unit_test_scsi_sbc_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_scsi_sbc_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
tests_unit_test_scsi_provisioning_SOURCES = \
	tests/unit/test-scsi-provisioning.c
tests_unit_test_scsi_provisioning_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_scsi_provisioning_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
tests_unit_test_scsi_pr_SOURCES = tests/unit/test-scsi-pr.c
tests_unit_test_scsi_pr_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_scsi_pr_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
# Shared by the five: included, not compiled on its own.
EXTRA_DIST += tests/unit/scsi-test-helpers.h
