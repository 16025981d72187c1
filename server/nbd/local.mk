# server/nbd: the NBD front end (see nbd-server.h).
server_libpolltgt_a_SOURCES += \
	server/nbd/nbd-protocol.h server/nbd/nbd-internal.h \
	server/nbd/nbd-server.c server/nbd/nbd-server.h \
	server/nbd/nbd-conn.c \
	server/nbd/nbd-handshake.c \
	server/nbd/nbd-request.c \
	server/nbd/nbd-reply.c \
	server/nbd/nbd-names.c server/nbd/nbd-names.h
