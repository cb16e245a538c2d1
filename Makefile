# Makefile - builds build/barge, its unit tests, and runs every test.
#
#   make                 build/barge (optimised, with debug info)
#   make test            install missing packages, build normal and
#                        ASan+UBSan trees, run every test in both
#   make example         install missing packages, build, run examples/
#   make install PREFIX=/usr/local
#   make SANITIZE=1 BUILD=build-asan   the sanitizer tree by hand

BUILD    ?= build
PREFIX   ?= /usr/local
SANITIZE ?= 0
CC       ?= cc

PKGS      := json-c libcurl libmicrohttpd libcrypto sqlite3 libpq inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN   := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation \
          -Wmissing-prototypes -Wstrict-prototypes -Wvla
CFLAGS ?= -O2 -g
ifeq ($(SANITIZE),1)
CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
          -fno-sanitize-recover=all
LDSAN  := -fsanitize=address,undefined
endif
ALL_CFLAGS := -std=c17 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(WARN) \
              $(CFLAGS) -Isrc $(PKG_CFLAGS) -MMD -MP
LDLIBS := $(PKG_LIBS) -lpthread -lm

SRC      := $(shell find src -name '*.c' ! -name main.c | sort)
OBJ      := $(SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/src/main.o
LIB      := $(BUILD)/libbarge.a
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test check unit example install clean deps bench
all: $(BUILD)/barge

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/barge: $(MAIN_OBJ) $(LIB)
	@echo "  LD      $@"
	@$(CC) $(LDSAN) -o $@ $(MAIN_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDSAN) $(LDLIBS) $(CMOCKA_LIBS)

unit: $(BUILD)/barge $(UNIT_BIN)

deps:
	@scripts/deps.sh

# Both trees, every test, one summary line (scripts/test.sh is the same).
test:
	@scripts/test.sh

example:
	@scripts/example.sh

bench: all
	@bench/run.sh

install: $(BUILD)/barge
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/barge $(DESTDIR)$(PREFIX)/bin/barge

clean:
	rm -rf build build-asan

-include $(OBJ:.o=.d) $(MAIN_OBJ:.o=.d)
