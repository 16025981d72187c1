# tests/interop: real NBD clients against polltgtd (nbdinfo, nbdcopy,
# qemu-img/qemu-io, fio's nbd engine).  Each test skips (77) when its client
# is not installed.
TESTS += \
	tests/interop/test-interop-nbdinfo.sh \
	tests/interop/test-interop-nbdcopy.sh \
	tests/interop/test-interop-qemu.sh \
	tests/interop/test-interop-fio.sh
EXTRA_DIST += \
	tests/interop/test-interop-nbdinfo.sh \
	tests/interop/test-interop-nbdcopy.sh \
	tests/interop/test-interop-qemu.sh \
	tests/interop/test-interop-fio.sh
