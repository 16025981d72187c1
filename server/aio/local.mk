# server/aio: the I/O-thread event loop (see aio.h).
server_libpolltgt_a_SOURCES += \
	server/aio/aio.h
