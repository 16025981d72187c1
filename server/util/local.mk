# server/util: small helpers shared by every module.
server_libpolltgt_a_SOURCES += \
	server/util/cleanup.c server/util/cleanup.h \
	server/util/clock.h server/util/compiler.h server/util/minmax.h \
	server/util/parse.c server/util/parse.h
