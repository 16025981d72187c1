# tests/ceph: backend = rbd against a single-node Ceph cluster that the
# test starts on loopback (ceph-functions.sh); only in builds with librbd.
if HAVE_RBD
TESTS += \
	tests/ceph/test-ceph-rbd.sh \
	tests/ceph/test-ceph-rbd-cephx.sh
# One cluster at a time: two memstore OSDs and monitors next to the rest
# of a parallel suite starve each other on a small host.
tests/ceph/test-ceph-rbd-cephx.log: tests/ceph/test-ceph-rbd.log
endif
EXTRA_DIST += \
	tests/ceph/ceph-functions.sh \
	tests/ceph/test-ceph-rbd.sh \
	tests/ceph/test-ceph-rbd-cephx.sh
