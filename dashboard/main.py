"""The dashboard's frame: sidebar (snapshot picker, upload, pages), then the chosen page."""

from __future__ import annotations

import streamlit as st

from dashboard import cache
from dashboard.context import Context
from dashboard.settings import Settings, load_settings, scan_config
from dashboard.snapshots import SnapshotFile, discover, discover_uploads, save_upload, upload_folder
from dashboard.views import cypher, drift, exceptions, findings, identities, overview, path_view, resources
from dashboard.views.common import PAGE_KEY, PAGES
from graph.snapshot import SnapshotError
from queries.reports.coverage_text import coverage
from queries.yaml_files import ConfigError

RENDERERS = dict(zip(PAGES, (overview, findings, path_view, identities, resources, drift, exceptions, cypher),
                     strict=True))
SETTINGS_KEY = "settings"  # session state: the settings read at the session's first run
SNAPSHOT_KEY = "snapshot"
UPLOADS = "upload_folder"  # session state: this session's private upload folder
REFUSED_UPLOAD = "refused_upload"  # session state: the last refused upload and why


def _upload() -> None:
    uploaded = st.sidebar.file_uploader("Upload a snapshot", type=["arrow", "gz", "json"], key="snapshot_upload")
    if uploaded is None or st.session_state.get("uploaded_name") == uploaded.name:
        return
    attempt = (uploaded.file_id, uploaded.name, uploaded.size)
    refused = st.session_state.get(REFUSED_UPLOAD)
    if refused and refused[0] == attempt:  # the same bad file on a rerun: say it again, do not re-read it
        st.sidebar.error(refused[1])
        return
    if UPLOADS not in st.session_state:
        st.session_state[UPLOADS] = upload_folder()
    try:
        saved = save_upload(st.session_state[UPLOADS], uploaded.name, uploaded.getvalue())
    except SnapshotError as exc:
        st.session_state[REFUSED_UPLOAD] = (attempt, str(exc))
        st.sidebar.error(str(exc))
        return
    st.session_state["uploaded_name"] = uploaded.name
    st.session_state[SNAPSHOT_KEY] = saved.label


def _pick_snapshot(settings: Settings) -> tuple[list[SnapshotFile], SnapshotFile | None]:
    st.sidebar.title("Crosspath")
    _upload()
    snapshots = discover(settings.snapshots) + discover_uploads(st.session_state.get(UPLOADS))
    if not snapshots:
        return snapshots, None
    labels = {s.label: s for s in snapshots}
    if st.session_state.get(SNAPSHOT_KEY) not in labels:
        st.session_state[SNAPSHOT_KEY] = next(iter(labels))
    label = st.sidebar.selectbox("Snapshot (collected at)", list(labels), key=SNAPSHOT_KEY,
                                 help="When the exports were taken: the findings are as of then.")
    return snapshots, labels[label]


def _page() -> str:
    if PAGE_KEY not in st.session_state:
        wanted = st.query_params.get(PAGE_KEY)
        st.session_state[PAGE_KEY] = wanted if wanted in PAGES else PAGES[0]
    page = st.sidebar.radio("Page", PAGES, key=PAGE_KEY)
    st.query_params[PAGE_KEY] = page
    return page


def _context(settings: Settings, snapshots: list[SnapshotFile], current: SnapshotFile) -> Context:
    # An uploaded snapshot's metadata could name any file on this server: only the scan folder's are followed.
    config = scan_config(settings, {} if current.uploaded else cache.snapshot_metadata(current.key))
    policy = cache.config_key(config.policy)
    try:
        analysis = cache.load_analysis(current.key, policy, cache.config_key(config.exceptions))
        return Context(settings, snapshots, current, analysis, config=config)
    except ConfigError as exc:
        if config.exceptions is None:
            raise
        message = f"The exceptions file does not load, so findings are shown without exceptions: {exc}"
        return Context(settings, snapshots, current, cache.load_analysis(current.key, policy, None), message,
                       config)


def _sources_caption(settings: Settings, ctx: Context | None) -> str:
    """Where the snapshots, the exceptions and the policy come from (`(the scan's)`: recorded in the snapshot)."""
    config = ctx.config if ctx else None
    policy, exceptions = (config.policy, config.exceptions) if config else (settings.policy, settings.exceptions)
    scans = config.from_scan if config else ()
    return (f"Snapshots from `{settings.snapshots}`"
            + (f" · exceptions `{exceptions}`" + (" (the scan's)" if "exceptions" in scans else "")
               if exceptions else " · no exceptions")
            + (f" · policy `{policy}`" + (" (the scan's)" if "policy" in scans else "") if policy else ""))


def _login_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml at all
        return False


def _signed_in() -> bool:
    """With an `[auth]` section in .streamlit/secrets.toml (Streamlit's OIDC login), nothing is shown
    until the user has signed in with the identity provider. Without one, the dashboard relies on
    binding to 127.0.0.1 or on an authenticating reverse proxy (docs/dashboard.md)."""
    if not _login_configured() or st.user.to_dict().get("is_logged_in"):
        return True
    st.header("Crosspath")
    st.info("Sign in to see the identity-permission graph.")
    st.button("Sign in", key="sign_in", on_click=st.login, type="primary")
    return False


def _settings(argv: list[str]) -> Settings:
    """Read once, at the session's first run, and kept: the exceptions file the form writes is fixed
    then; nothing later in the session (a form field, a changed environment variable) moves it."""
    if SETTINGS_KEY not in st.session_state:
        st.session_state[SETTINGS_KEY] = load_settings(argv)
    return st.session_state[SETTINGS_KEY]


def main(argv: list[str]) -> None:
    # No page_icon: a Material icon favicon is fetched from fonts.gstatic.com, which offline hosts cannot reach.
    st.set_page_config(page_title="Crosspath", layout="wide")
    if not _signed_in():
        return
    settings = _settings(argv)
    snapshots, current = _pick_snapshot(settings)
    page = _page()
    if current is None:
        st.sidebar.caption(_sources_caption(settings, None))
        st.header("No snapshot yet")
        st.info(f"No snapshot in `{settings.snapshots}`. Run `crosspath scan DIR --out {settings.snapshots}` "
                "(for the sample organisation: `make demo`), or upload a snapshot in the sidebar.")
        return
    try:
        ctx = _context(settings, snapshots, current)
    except (SnapshotError, ConfigError) as exc:
        st.sidebar.caption(_sources_caption(settings, None))
        st.error(str(exc))
        return
    st.sidebar.caption(_sources_caption(settings, ctx))
    if _login_configured():
        st.sidebar.button("Sign out", key="sign_out", on_click=st.logout)
    st.sidebar.caption(f"As of {ctx.analysis.as_of} · {ctx.analysis.stats.get('nodes', 0):,} nodes · "
                       f"{ctx.analysis.stats.get('edges', 0):,} edges")
    for note in ctx.config.notes:
        st.warning(note)
    for item in coverage(ctx.analysis):  # on every page, above the fold: what these findings cannot see
        if not item.complete:
            st.warning(item.statement)
    RENDERERS[page].render(ctx)
