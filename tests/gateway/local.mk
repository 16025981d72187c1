# tests/gateway: chains of two polltgtd processes on loopback, the front
# one re-exporting the back one's disks through backend = nbd and iscsi.
TESTS += \
	tests/gateway/test-gateway-nbd.sh \
	tests/gateway/test-gateway-iscsi.sh \
	tests/gateway/test-gateway-timeout.sh \
	tests/gateway/test-gateway-resolve.sh \
	tests/gateway/test-gateway-thin.sh
EXTRA_DIST += \
	tests/gateway/gateway-functions.sh \
	tests/gateway/test-gateway-nbd.sh \
	tests/gateway/test-gateway-iscsi.sh \
	tests/gateway/test-gateway-timeout.sh \
	tests/gateway/test-gateway-resolve.sh \
	tests/gateway/test-gateway-thin.sh
