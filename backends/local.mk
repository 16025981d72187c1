# backends: storage backends (see backend.h).
