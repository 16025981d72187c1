# server/policy: the poll policies (pure; see policy.h).
server_libpolltgt_a_SOURCES += \
	server/policy/policy.c server/policy/policy.h server/policy/policy-internal.h \
	server/policy/policy-off.c server/policy/policy-classic.c \
	server/policy/policy-per-handler.c server/policy/policy-weighted.c \
	server/policy/policy-busy.c server/policy/policy-max-ns.c

# One test binary per policy family, plus test-policy-params for the
# table, the parameters and the rules all policies share (busy, off).
check_PROGRAMS += \
	tests/unit/test-policy-params \
	tests/unit/test-policy-classic \
	tests/unit/test-policy-per-handler \
	tests/unit/test-policy-weighted
TESTS += \
	tests/unit/test-policy-params \
	tests/unit/test-policy-classic \
	tests/unit/test-policy-per-handler \
	tests/unit/test-policy-weighted

tests_unit_test_policy_params_SOURCES = \
	tests/unit/test-policy-params.c \
	tests/unit/policy-test-helpers.h tests/unit/fake-clock.h
tests_unit_test_policy_params_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_policy_params_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

tests_unit_test_policy_classic_SOURCES = \
	tests/unit/test-policy-classic.c \
	tests/unit/policy-test-helpers.h tests/unit/fake-clock.h
tests_unit_test_policy_classic_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_policy_classic_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

tests_unit_test_policy_per_handler_SOURCES = \
	tests/unit/test-policy-per-handler.c \
	tests/unit/policy-test-helpers.h tests/unit/fake-clock.h
tests_unit_test_policy_per_handler_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_policy_per_handler_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

tests_unit_test_policy_weighted_SOURCES = \
	tests/unit/test-policy-weighted.c \
	tests/unit/policy-test-helpers.h tests/unit/fake-clock.h
tests_unit_test_policy_weighted_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_policy_weighted_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-policy-max-ns
TESTS += tests/unit/test-policy-max-ns
tests_unit_test_policy_max_ns_SOURCES = tests/unit/test-policy-max-ns.c
tests_unit_test_policy_max_ns_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_policy_max_ns_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
