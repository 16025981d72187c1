# tests/ceph: backend = rbd against a single-node Ceph cluster that the
# test starts on loopback (ceph-functions.sh); only in builds with librbd.
if HAVE_RBD
TESTS += \
	tests/ceph/test-ceph-rbd.sh \
	tests/ceph/test-ceph-rbd-cephx.sh
endif
EXTRA_DIST += \
	tests/ceph/ceph-functions.sh \
	tests/ceph/test-ceph-rbd.sh \
	tests/ceph/test-ceph-rbd-cephx.sh
