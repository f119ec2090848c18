import NIOCore

/// The dashboard's script and style sheet, served by the controller itself (no CDN; the CSP allows `'self'`
/// only). Kept as string literals so the binary is the whole deployment.
enum DashboardAssets {
    static let jsPath = "/dashboard/app.js"
    static let cssPath = "/dashboard/app.css"
    static let iconPath = "/dashboard/icon.svg"

    /// A plain mark, so browsers do not ask for a `/favicon.ico` that is not there.
    static let icon = #"""
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1b1f24"/><path d="M4 4h8v2H6v2h5v2H6v2H4z" fill="#fff"/></svg>

        """#

    /// Opens the live stream and swaps the live part of the page on each `snapshot` event. Without JavaScript
    /// the page still shows everything as of its load.
    static let javaScript = #"""
        "use strict";
        (function () {
          var main = document.getElementById("live");
          var status = document.getElementById("live-status");
          if (!main || !window.EventSource) { return; }
          function say(text) { if (status) { status.textContent = text; } }
          var source = new EventSource(main.getAttribute("data-events"));
          source.addEventListener("open", function () { say("Live updates: on"); });
          source.addEventListener("snapshot", function (event) {
            main.innerHTML = event.data;
            main.setAttribute("data-updates", String(Number(main.getAttribute("data-updates") || "0") + 1));
            say("Live updates: on");
          });
          source.addEventListener("signed-out", function () {
            source.close();
            window.location.reload();
          });
          source.addEventListener("error", function () {
            say("Live updates: reconnecting…");
          });
        })();

        """#

    /// Readable without colour: every status is a word; colour only repeats it. Honours dark mode.
    static let css = #"""
        :root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --line: #d0d7de;
          --ok: #1a7f37; --bad: #cf222e; --run: #0969da; --wait: #9a6700; }
        @media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0;
          --line: #30363d; --ok: #3fb950; --bad: #f85149; --run: #58a6ff; --wait: #d29922; } }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
          background: var(--bg); }
        .top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .75rem 1.5rem;
          border-bottom: 1px solid var(--line); }
        .top h1 { font-size: 1.2rem; margin: 0; flex: 1 1 auto; }
        .live-status { margin: 0; color: var(--muted); }
        main { padding: 0 1.5rem 2rem; max-width: 80rem; }
        h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
        h3 { font-size: .95rem; margin: 1rem 0 .4rem; color: var(--muted); }
        .stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: .75rem; margin: 0; }
        .stats div { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .75rem; }
        .stats dt { color: var(--muted); font-size: .85rem; }
        .stats dd { margin: 0; font-size: 1.4rem; font-variant-numeric: tabular-nums; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
        code { font: .85rem ui-monospace, SFMono-Regular, Menlo, monospace; }
        .status { display: inline-block; padding: 0 .45rem; border: 1px solid currentColor; border-radius: 1rem;
          font-size: .8rem; font-weight: 600; }
        .status-completed, .status-idle { color: var(--ok); }
        .status-failed, .status-cancelled, .status-offline { color: var(--bad); }
        .status-building, .status-assigned { color: var(--run); }
        .status-pending { color: var(--wait); }
        .empty, .updated { color: var(--muted); }
        .sign-in { max-width: 28rem; margin: 3rem auto; }
        .sign-in form { display: grid; gap: .5rem; }
        input { font: inherit; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px;
          background: var(--bg); color: var(--fg); }
        button { font: inherit; padding: .4rem .9rem; border: 1px solid var(--line); border-radius: 6px;
          background: var(--fg); color: var(--bg); cursor: pointer; }
        .sign-out button { background: transparent; color: var(--fg); }
        .error { color: var(--bad); font-weight: 600; }
        :focus-visible { outline: 3px solid var(--run); outline-offset: 2px; }

        """#
}
