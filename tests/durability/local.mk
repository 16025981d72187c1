# tests/durability: crash consistency (see tests/README.tests).  One
# source, built twice: through the page cache and with direct = yes.
DURABILITY_TESTS = \
	tests/durability/test-durability-crash \
	tests/durability/test-durability-crash-direct

check_PROGRAMS += $(DURABILITY_TESTS)
TESTS += $(DURABILITY_TESTS)

DURABILITY_CFLAGS = $(AM_CFLAGS) $(LIBNBD_CFLAGS) $(LIBISCSI_CFLAGS)
DURABILITY_LDADD = $(LIBNBD_LIBS) $(LIBISCSI_LIBS)

tests_durability_test_durability_crash_SOURCES = \
	tests/durability/test-durability-crash.c
tests_durability_test_durability_crash_CFLAGS = $(DURABILITY_CFLAGS)
tests_durability_test_durability_crash_LDADD = $(DURABILITY_LDADD)

tests_durability_test_durability_crash_direct_SOURCES = \
	tests/durability/test-durability-crash.c
tests_durability_test_durability_crash_direct_CFLAGS = \
	$(DURABILITY_CFLAGS) -DDUR_DIRECT
tests_durability_test_durability_crash_direct_LDADD = $(DURABILITY_LDADD)
