# fedbus: the two commands of the README, and the layers of the test command.
.PHONY: up down test lint unit fuzz installed integration molecule image venv

up:            ## bring the whole bus up on local containers (inventory `local`)
	scripts/up.sh

down:          ## remove the local bus containers
	scripts/up.sh down

test:          ## all tests: lint, unit, fuzz, installed (the wheel), integration (real RabbitMQ), molecule
	scripts/test.sh

lint unit fuzz installed integration molecule:
	scripts/test.sh $@

image:         ## (re)build the local base image if its recipe changed
	scripts/build-image.sh

venv:          ## the pinned virtualenv .venv
	scripts/bootstrap.sh
