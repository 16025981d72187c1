# server/control: the status socket (see control.h).
server_libpolltgt_a_SOURCES += \
	server/control/control-protocol.h \
	server/control/control.c server/control/control.h
