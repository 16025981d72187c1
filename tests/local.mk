# tests: harness settings shared by every test.
TESTS_ENVIRONMENT = \
	PATH="$(abs_top_builddir)/server:$$PATH" \
	MALLOC_PERTURB_=$$(( $$RANDOM % 255 + 1 )) \
	CK_DEFAULT_TIMEOUT=60 \
	POLLTGT_SRCDIR="$(abs_top_srcdir)" \
	POLLTGT_BUILDDIR="$(abs_top_builddir)" \
	CC="$(CC)"
EXTRA_DIST += tests/functions.sh.in
# Regenerate functions.sh from its .in when that changes.
check_DATA = tests/functions.sh

# Daemon lifecycle: start, reload, stop, daemonise, --check-config.
TESTS += \
	tests/daemon/test-daemon-check-config.sh \
	tests/daemon/test-daemon-lifecycle.sh \
	tests/daemon/test-daemon-background.sh \
	tests/daemon/test-daemon-pinning.sh \
	tests/daemon/test-daemon-max-ns-auto.sh \
	tests/daemon/test-daemon-user.sh \
	tests/daemon/test-daemon-limits.sh \
	tests/daemon/test-daemon-systemd.sh
EXTRA_DIST += \
	tests/daemon/test-daemon-pinning.sh \
	tests/daemon/test-daemon-check-config.sh \
	tests/daemon/test-daemon-lifecycle.sh \
	tests/daemon/test-daemon-background.sh \
	tests/daemon/test-daemon-max-ns-auto.sh \
	tests/daemon/test-daemon-user.sh \
	tests/daemon/test-daemon-limits.sh \
	tests/daemon/test-daemon-systemd.sh

# Build hygiene: symbol clashes with linked libraries, self-contained headers.
TESTS += tests/build/test-symbols.sh tests/build/test-headers.sh
EXTRA_DIST += tests/build/test-symbols.sh tests/build/test-headers.sh
TESTS += tests/build/test-systemd-units.sh
EXTRA_DIST += tests/build/test-systemd-units.sh
EXTRA_DIST += tests/daemon/sd-harness.py
EXTRA_DIST += tests/README.tests
