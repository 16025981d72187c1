# server/policy: the poll policies (pure; see policy.h).
server_libpolltgt_a_SOURCES += \
	server/policy/policy.c server/policy/policy.h server/policy/policy-internal.h \
	server/policy/policy-off.c server/policy/policy-classic.c \
	server/policy/policy-per-handler.c server/policy/policy-weighted.c \
	server/policy/policy-busy.c server/policy/policy-max-ns.c

check_PROGRAMS += tests/unit/test-policy
TESTS += tests/unit/test-policy
tests_unit_test_policy_SOURCES = tests/unit/test-policy.c tests/unit/fake-clock.h
tests_unit_test_policy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_policy_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test-policy-max-ns
TESTS += tests/unit/test-policy-max-ns
tests_unit_test_policy_max_ns_SOURCES = tests/unit/test-policy-max-ns.c
tests_unit_test_policy_max_ns_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_policy_max_ns_LDADD = $(POLLTGT_LIBS) $(CHECK_LIBS)
