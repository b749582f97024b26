"""The web UI: rules, destinations (verification, delivery), mute/pause, deep links."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any, cast

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from fedbus.notifier.models import DELIVERY_MODES
from fedbus.notifier.store import NotFound, RuleView, Store, UserStore
from fedbus.notifier.validate import InvalidPreference, check_address
from fedbus.notifier.web import auth, throttle
from fedbus.notifier.web.accounts import Accounts
from fedbus.notifier.web.forms import (
    RULE_KIND_LABELS,
    AccountForm,
    DestinationForm,
    EmptyForm,
    LoginForm,
    PauseForm,
    RuleForm,
)

log = logging.getLogger(__name__)
bp = Blueprint("ui", __name__)
WEB_LINK = re.compile(r"https?://[^\s/?#@]", re.IGNORECASE)


def store() -> Store:
    return cast(Store, current_app.config["FEDBUS_STORE"])


def me() -> UserStore:
    return store().user(g.user)


def render(template: str, **kw: Any) -> str:
    return render_template(
        template, user=g.get("user"), auth=g.get("auth"), admin=auth.is_admin(), **kw
    )


# -- login ------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = auth.safe_next(request.args.get("next"), url_for("ui.rules"))
    user, _how = auth.resolve_user()
    if user:
        return redirect(target)
    if not auth.settings().local_login:
        abort(404)
    form = LoginForm()
    if form.validate_on_submit():
        name = form.username.data.strip()
        try:
            ok = auth.valid_username(name) and auth.check_local_password(name, form.password.data)
        except auth.Limited as exc:
            flash(f"Too many failed logins: try again in {exc.retry_after} seconds.", "error")
            page = render("login.html", form=form)
            return page, 429, {"Retry-After": str(exc.retry_after)}
        if ok:
            auth.start_session(name)
            log.info("local login of %s from %s", name, request.remote_addr)
            return redirect(target)
        log.warning("failed local login for %r from %s", name, request.remote_addr)
        flash("Wrong user name or password.", "error")
    return render("login.html", form=form), 200 if request.method == "GET" else 401


@bp.post("/logout")
def logout() -> Any:
    user = auth.session_user()
    if user:  # ends every session of that user, the cookie stolen or not
        auth.end_sessions(user)
    session.clear()
    return redirect(url_for("ui.login"))


# -- rules ------------------------------------------------------------------------------


def web_link(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL, else ``None``: no ``javascript:`` link."""
    return url if url and WEB_LINK.match(url) else None


def _recent(user: UserStore) -> list[dict[str, Any]]:
    """The last notifications, as the rules page lists them: what (the summary, or the
    topic, or for rows older than migration 0004 the message id), when, where."""
    return [
        {
            "at": d.at.strftime("%Y-%m-%d %H:%M:%S"),
            "at_iso": d.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "summary": d.summary or d.topic or d.message_id,
            "topic": d.topic if d.summary else None,
            "link": web_link(d.url),
            "destination": f"{d.kind}: {d.address}",
            "status": d.status,
        }
        for d in user.recent_deliveries()
    ]


@bp.get("/settings/")
@bp.get("/settings/rules")
@auth.login_required
def rules() -> Any:
    user = me()
    dests = {d.id: d for d in user.list_destinations()}
    return render(
        "rules.html",
        rules=user.list_rules(),
        dests=dests,
        kind_labels=RULE_KIND_LABELS,
        recent=_recent(user),
    )


def _rule_form(user: UserStore, rule: RuleView | None = None) -> RuleForm:
    form = RuleForm(obj=None)
    form.destinations.choices = [
        (d.id, f"{d.kind}: {d.address}{'' if d.verified else ' (not verified)'}")
        for d in user.list_destinations()
    ]
    if request.method == "GET":
        if rule is not None:
            form.name.data, form.kind.data, form.value.data = rule.name, rule.kind, rule.value
            form.min_severity.data = "" if rule.min_severity == "debug" else rule.min_severity
            form.exclude_mine.data, form.enabled.data = rule.exclude_mine, rule.enabled
            form.exclude_topics.data = "\n".join(rule.exclude_topics)
            form.exclude_services.data = ", ".join(rule.exclude_services)
            form.destinations.data = list(rule.destination_ids)
        else:  # deep links pre-fill: /settings/rules/new?kind=package&value=kernel
            kind = request.args.get("kind", "")
            if kind in dict(form.kind.choices):
                form.kind.data = kind
            form.value.data = request.args.get("value", "")[:255]
            form.name.data = request.args.get("name", "")[:100]
            form.exclude_mine.data = True
    return form


def _rule_fields(form: RuleForm) -> dict[str, Any]:
    return {
        "name": (form.name.data or "").strip(),
        "kind": form.kind.data,
        "value": (form.value.data or "").strip(),
        "min_severity": form.min_severity.data or None,
        "exclude_mine": bool(form.exclude_mine.data),
        "exclude_topics": [
            t.strip() for t in (form.exclude_topics.data or "").splitlines() if t.strip()
        ],
        "exclude_services": [
            t.strip() for t in (form.exclude_services.data or "").split(",") if t.strip()
        ],
        "destination_ids": list(form.destinations.data or []),
        "enabled": bool(form.enabled.data),
    }


@bp.route("/settings/rules/new", methods=["GET", "POST"])
@auth.login_required
def rule_new() -> Any:
    user = me()
    form = _rule_form(user)
    if form.validate_on_submit():
        fields = _rule_fields(form)
        try:
            rule = user.add_rule(fields.pop("kind"), fields.pop("value"), **fields)
        except (InvalidPreference, NotFound) as exc:
            flash(str(exc), "error")
        else:
            flash(f"Rule {rule.name or rule.id} added.", "info")
            return redirect(url_for("ui.rules"))
    return render("rule_form.html", form=form, heading="Add a rule")


@bp.route("/settings/rules/<int:rule_id>", methods=["GET", "POST"])
@auth.login_required
def rule_edit(rule_id: int) -> Any:
    user = me()
    try:
        rule = user.get_rule(rule_id)
    except NotFound:
        abort(404)
    form = _rule_form(user, rule)
    if form.validate_on_submit():
        try:
            user.update_rule(rule_id, **_rule_fields(form))
        except (InvalidPreference, NotFound) as exc:
            flash(str(exc), "error")
        else:
            flash("Rule saved.", "info")
            return redirect(url_for("ui.rules"))
    return render("rule_form.html", form=form, heading=f"Edit the rule {rule.name or rule.id}")


@bp.post("/settings/rules/<int:rule_id>/delete")
@auth.login_required
def rule_delete(rule_id: int) -> Any:
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        me().delete_rule(rule_id)
    except NotFound:
        abort(404)
    flash("Rule deleted.", "info")
    return redirect(url_for("ui.rules"))


# -- deep links: each application links its users here -----------------------------------


@bp.get("/settings/packages/<path:name>")
@auth.login_required
def deep_package(name: str) -> Any:
    return redirect(url_for("ui.rule_new", kind="package", value=name, name=f"package {name}"))


@bp.get("/settings/users/<name>")
@auth.login_required
def deep_user(name: str) -> Any:
    return redirect(url_for("ui.rule_new", kind="user", value=name, name=f"user {name}"))


@bp.get("/settings/services/<name>")
@auth.login_required
def deep_service(name: str) -> Any:
    return redirect(url_for("ui.rule_new", kind="service", value=name, name=f"service {name}"))


@bp.get("/settings/topics/<path:topic>")
@auth.login_required
def deep_topic(topic: str) -> Any:
    return redirect(url_for("ui.rule_new", kind="topic", value=topic, name=f"topic {topic}"))


# -- destinations, delivery ---------------------------------------------------------------


@bp.route("/settings/destinations", methods=["GET", "POST"])
@auth.login_required
def destinations() -> Any:
    user = me()
    form = DestinationForm()
    if form.validate_on_submit():
        try:
            # validated before anything queries with it (a NUL is a 500 on PostgreSQL)
            address = check_address(form.kind.data, form.address.data)
            throttle.check(g.user, form.kind.data, address)
            dest, token = user.add_destination(form.kind.data, address)
        except throttle.TooMany as exc:
            flash(f"{str(exc).capitalize()}.", "error")
        except InvalidPreference as exc:
            flash(str(exc), "error")
        else:
            _send_token(dest, token)
            return redirect(url_for("ui.destinations"))
    return render(
        "destinations.html", form=form, destinations=user.list_destinations(), modes=DELIVERY_MODES
    )


def _send_token(dest: Any, token: str) -> None:
    try:
        throttle.check(g.user, dest.kind, dest.address)
    except throttle.TooMany as exc:
        flash(f"{str(exc).capitalize()}.", "error")
        return
    throttle.sent(g.user, dest.kind, dest.address)
    try:
        current_app.config["FEDBUS_SEND_TOKEN"](g.user, dest, token)
    except Exception as exc:  # the destination stays, a new token can be asked for
        log.warning("could not send the token to %s %s: %s", dest.kind, dest.address, exc)
        flash(f"Could not send the verification token to {dest.address}: {exc}", "error")
    else:
        flash(f"A verification token was sent to {dest.address}.", "info")


@bp.route("/settings/destinations/<int:dest_id>/verify", methods=["GET", "POST"])
@auth.login_required
def destination_verify(dest_id: int) -> Any:
    if request.method == "GET":  # the link in the token message: confirm with a POST
        dest = next((d for d in me().list_destinations() if d.id == dest_id), None)
        if dest is None:
            abort(404)
        return render("verify.html", dest=dest, token=request.args.get("token", "")[:128])
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        ok = me().verify_destination(dest_id, request.form.get("token", "").strip())
    except NotFound:
        abort(404)
    flash("Verified." if ok else "That token is wrong or expired.", "info" if ok else "error")
    return redirect(url_for("ui.destinations"))


@bp.post("/settings/destinations/<int:dest_id>/token")
@auth.login_required
def destination_resend(dest_id: int) -> Any:
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = me()
    try:
        token = user.new_token(dest_id)
        dest = next(d for d in user.list_destinations() if d.id == dest_id)
    except (NotFound, StopIteration):
        abort(404)
    _send_token(dest, token)
    return redirect(url_for("ui.destinations"))


@bp.post("/settings/destinations/<int:dest_id>/delivery")
@auth.login_required
def destination_delivery(dest_id: int) -> Any:
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        cap = int(request.form.get("digest_cap", "50"))
        me().set_delivery(dest_id, request.form.get("delivery", ""), digest_cap=cap)
    except NotFound:
        abort(404)
    except (InvalidPreference, ValueError) as exc:
        flash(f"Delivery not changed: {exc}", "error")
    else:
        flash("Delivery saved.", "info")
    return redirect(url_for("ui.destinations"))


@bp.post("/settings/destinations/<int:dest_id>/delete")
@auth.login_required
def destination_delete(dest_id: int) -> Any:
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        me().delete_destination(dest_id)
    except NotFound:
        abort(404)
    flash("Destination deleted.", "info")
    return redirect(url_for("ui.destinations"))


# -- mute / pause ---------------------------------------------------------------------------


@bp.route("/settings/pause", methods=["GET", "POST"])
@auth.login_required
def pause() -> Any:
    user = me()
    state = user.profile()
    form = PauseForm()
    if request.method == "GET":
        form.paused.data = state.paused
    if form.validate_on_submit():
        user.set_paused(bool(form.paused.data))
        hours = form.mute_hours.data or 0
        until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours) if hours else None
        user.mute_until(until)
        flash("Saved.", "info")
        return redirect(url_for("ui.pause"))
    return render("pause.html", form=form, state=state)


# -- local accounts (admin) --------------------------------------------------------------


@bp.route("/settings/accounts", methods=["GET", "POST"])
@auth.login_required
def accounts() -> Any:
    if not auth.is_admin():
        abort(403)
    acc = cast(Accounts, current_app.config["FEDBUS_ACCOUNTS"])
    form = AccountForm()
    if form.validate_on_submit():
        name = form.username.data
        if name == auth.settings().admin_user:
            flash("The admin's password comes from the configuration.", "error")
        else:
            created = acc.set_password(name, form.password.data)
            flash(f"Account {name} {'created' if created else 'updated'}.", "info")
            return redirect(url_for("ui.accounts"))
    return render("accounts.html", form=form, names=acc.names())
