# tests/control: the status socket and polltgtctl against a running
# polltgtd (Unix sockets only; python3 for the raw client and the checks).
TESTS += \
	tests/control/test-control-protocol.sh \
	tests/control/test-control-set.sh \
	tests/control/test-control-set-errors.sh \
	tests/control/test-control-load.sh \
	tests/control/test-control-polltgtctl.sh
EXTRA_DIST += \
	tests/control/test-control-protocol.sh \
	tests/control/test-control-set.sh \
	tests/control/test-control-set-errors.sh \
	tests/control/test-control-load.sh \
	tests/control/test-control-polltgtctl.sh \
	tests/control/common.sh \
	tests/control/ctl.py \
	tests/control/prom-check.py \
	tests/control/protocol-checks.py \
	tests/control/fake-server.py
