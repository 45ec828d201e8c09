# The front door. `make` installs what is missing, configures and builds; `make test` also runs the suite.
BUILD_DIR ?= build
# Release: debug info makes the torch precompiled header ~30% larger and every torch file slower to build.
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all build bootstrap configure test install clean demo

all: build

bootstrap:
	@scripts/bootstrap.sh

# Configure once; cmake re-runs itself from the build when a CMakeLists.txt changes.
$(BUILD_DIR)/build.ninja: | bootstrap
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: $(BUILD_DIR)/build.ninja

build: bootstrap configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# Trains a classifier on Fashion-MNIST end to end (scripts/demo.sh says what it does).
demo:
	@scripts/demo.sh

install: build
	cmake --install $(BUILD_DIR) $(if $(PREFIX),--prefix $(PREFIX),)

clean:
	rm -rf $(BUILD_DIR)
