"""The post-receive hook's stdin (``old new ref`` lines) and its settings' templates."""

import atheris

with atheris.instrument_imports(include=["fedbus"]):
    from fedbus.errors import ValidationError
    from fedbus.wedges import git_hook

import contextlib

from atheris_lib import main


def one_input(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    try:
        for u in git_hook.parse_updates(text):
            assert git_hook._is_sha(u.old) and git_hook._is_sha(u.new), u
    except ValidationError as exc:
        assert "\n" not in str(exc), str(exc)
    first = text.split("\n", 1)[0]
    try:
        template = git_hook._url_template(first)
    except ValidationError:
        pass
    else:
        assert template is not None
        template.format(namespace="rpms", repo="x", rev="0" * 40, branch="main")
    with contextlib.suppress(ValidationError):
        git_hook._max_patch(first)


if __name__ == "__main__":
    main(one_input)
