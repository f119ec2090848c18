import Foundation
import Orchestrator

/// The dashboard's HTML: the sign-in page, the page itself, and its live part (sent again on every update).
///
/// Only figures, ids, statuses, worker names and error messages appear: never a token, key, digest, cert or a
/// byte of a source. Every value from the database goes through ``HTML/escape(_:)``.
enum DashboardPage {
    static let title = "Free Agent Controller"

    /// The document around `main`: no inline script or style (the CSP forbids them), assets from this host.
    private static func document(_ main: String, header: String = "") -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="same-origin">
        <title>\(title)</title>
        <link rel="icon" href="\(DashboardAssets.iconPath)" type="image/svg+xml">
        <link rel="stylesheet" href="\(DashboardAssets.cssPath)">
        <script src="\(DashboardAssets.jsPath)" defer></script>
        </head>
        <body>
        <header class="top"><h1>\(title)</h1>\(header)</header>
        \(main)
        </body>
        </html>

        """
    }

    /// The sign-in form and nothing else. `error` is a fixed message of ours, never the input.
    static func signIn(error: String? = nil) -> String {
        var html = HTML()
        html.raw("<main class=\"sign-in\"><h2>Sign in</h2>")
        html.raw("<p>Enter the controller's API key (<code>CONTROLLER_API_KEY</code>) to see the dashboard.</p>")
        if let error {
            html.raw("<p class=\"error\" role=\"alert\" id=\"sign-in-error\">")
            html.text(error)
            html.raw("</p>")
        }
        html.raw(
            """
            <form method="post" action="\(DashboardRoutes.signInPath)">\
            <label for="api_key">API key</label>\
            <input id="api_key" name="api_key" type="password" autocomplete="current-password" required \
            minlength="32" maxlength="256" spellcheck="false"\
            \(error == nil ? "" : " aria-describedby=\"sign-in-error\"")>\
            <button type="submit">Sign in</button></form></main>
            """)
        return document(html.text)
    }

    /// The dashboard for a signed-in operator.
    static func dashboard(_ snapshot: DashboardSnapshot, csrfToken: String) -> String {
        let header = """
            <p id="live-status" class="live-status" role="status" aria-live="polite">Live updates: connecting…</p>\
            <form method="post" action="\(DashboardRoutes.signOutPath)" class="sign-out">\
            <input type="hidden" name="csrf" value="\(HTML.escape(csrfToken))">\
            <button type="submit">Sign out</button></form>
            """
        return document(
            "<main id=\"live\" data-events=\"\(DashboardRoutes.eventsPath)\">\(live(snapshot))</main>", header: header)
    }

    /// The part of the page that live updates replace.
    static func live(_ snapshot: DashboardSnapshot) -> String {
        var html = HTML()
        statistics(snapshot, into: &html)
        queue(snapshot, into: &html)
        workers(snapshot, into: &html)
        recent(snapshot, into: &html)
        html.raw("<p class=\"updated\">Updated <time datetime=\"\(HumanTime.iso(snapshot.now))\">")
        html.text(snapshot.now.formatted(.iso8601))
        html.raw("</time>.</p>")
        return html.text
    }

    private static func statistics(_ snapshot: DashboardSnapshot, into html: inout HTML) {
        let stats = snapshot.statistics
        let figures: [(String, String)] = [
            ("Workers online", "\(stats.nodesOnline)"), ("Queued", "\(stats.buildsQueued)"),
            ("Active", "\(stats.activeBuilds)"), ("Completed today (UTC)", "\(stats.buildsToday)"),
            ("Finished in all", "\(stats.totalBuilds)"),
            ("Total build time", HumanTime.duration(Double(stats.totalBuildTimeMs) / 1000)),
        ]
        html.raw("<section aria-labelledby=\"stats-h\"><h2 id=\"stats-h\">Statistics</h2><dl class=\"stats\">")
        for (name, value) in figures {
            html.raw("<div>")
            html.element("dt", name)
            html.element("dd", value)
            html.raw("</div>")
        }
        html.raw("</dl></section>")
    }

    private static func queue(_ snapshot: DashboardSnapshot, into html: inout HTML) {
        let now = snapshot.now
        html.raw("<section aria-labelledby=\"queue-h\"><h2 id=\"queue-h\">Queue</h2>")
        html.raw("<h3 id=\"pending-h\">Pending (\(snapshot.pendingTotal))</h3>")
        if snapshot.pending.isEmpty {
            html.raw("<p class=\"empty\">No builds waiting.</p>")
        } else {
            table("pending-h", ["Position", "Build", "Platform", "Waiting", "Attempt"], into: &html)
            for build in snapshot.pending {
                html.raw("<tr data-build=\"\(HTML.escape(build.id))\">")
                html.element("td", "\(build.position)")
                html.raw("<td><code>\(HTML.escape(build.id))</code></td>")
                html.element("td", build.platform)
                html.raw("<td>\(HumanTime.ago(build.queuedAt, now: now))</td>")
                html.element("td", "\(build.attempt + 1)")
                html.raw("</tr>")
            }
            html.raw("</tbody></table></div>")
        }
        html.raw("<h3 id=\"active-h\">Active (\(snapshot.active.count))</h3>")
        if snapshot.active.isEmpty {
            html.raw("<p class=\"empty\">No builds running.</p>")
        } else {
            table("active-h", ["Build", "Platform", "Status", "Worker", "Elapsed", "Attempt"], into: &html)
            for build in snapshot.active {
                html.raw("<tr data-build=\"\(HTML.escape(build.id))\">")
                html.raw("<td><code>\(HTML.escape(build.id))</code></td>")
                html.element("td", build.platform)
                status(build.status.rawValue, into: &html)
                html.element("td", build.workerName.map { "\($0) (\(build.workerID))" } ?? build.workerID)
                html.element("td", build.startedAt.map { HumanTime.duration(now.timeIntervalSince($0)) } ?? "–")
                html.element("td", "\(build.attempt)")
                html.raw("</tr>")
            }
            html.raw("</tbody></table></div>")
        }
        html.raw("</section>")
    }

    private static func workers(_ snapshot: DashboardSnapshot, into html: inout HTML) {
        html.raw("<section aria-labelledby=\"workers-h\"><h2 id=\"workers-h\">Workers (\(snapshot.workers.count))</h2>")
        if snapshot.workers.isEmpty {
            html.raw("<p class=\"empty\">No workers registered.</p></section>")
            return
        }
        table("workers-h", ["Name", "ID", "Status", "Last seen", "Current build", "Completed", "Failed"], into: &html)
        for worker in snapshot.workers {
            html.raw("<tr data-worker=\"\(HTML.escape(worker.id))\">")
            html.element("td", worker.name)
            html.raw("<td><code>\(HTML.escape(worker.id))</code></td>")
            status(worker.status, into: &html)
            html.raw("<td>\(HumanTime.ago(worker.lastSeenAt, now: snapshot.now))</td>")
            if let build = worker.currentBuildID {
                html.raw("<td><code>\(HTML.escape(build))</code></td>")
            } else {
                html.element("td", "–")
            }
            html.element("td", "\(worker.buildsCompleted)")
            html.element("td", "\(worker.buildsFailed)")
            html.raw("</tr>")
        }
        html.raw("</tbody></table></div></section>")
    }

    private static func recent(_ snapshot: DashboardSnapshot, into html: inout HTML) {
        html.raw("<section aria-labelledby=\"recent-h\"><h2 id=\"recent-h\">Recent builds</h2>")
        if snapshot.recent.isEmpty {
            html.raw("<p class=\"empty\">No builds yet.</p></section>")
            return
        }
        table("recent-h", ["Build", "Status", "Platform", "Submitted", "Duration", "Error"], into: &html)
        for build in snapshot.recent {
            html.raw("<tr data-build=\"\(HTML.escape(build.id))\">")
            html.raw("<td><code>\(HTML.escape(build.id))</code></td>")
            status(build.status.rawValue, into: &html)
            html.element("td", build.platform)
            html.raw("<td>\(HumanTime.ago(build.submittedAt, now: snapshot.now))</td>")
            let duration = build.startedAt.map { started in
                HumanTime.duration((build.completedAt ?? snapshot.now).timeIntervalSince(started))
            }
            html.element("td", duration ?? "–")
            html.element("td", build.errorMessage.map { String($0.prefix(300)) } ?? "")
            html.raw("</tr>")
        }
        html.raw("</tbody></table></div></section>")
    }

    private static func table(_ labelledBy: String, _ columns: [String], into html: inout HTML) {
        html.raw("<div class=\"scroll\"><table aria-labelledby=\"\(labelledBy)\"><thead><tr>")
        for column in columns { html.element("th", attributes: "scope=\"col\"", column) }
        html.raw("</tr></thead><tbody>")
    }

    /// A status as words (it must read without colour) with a class for the colour.
    private static func status(_ value: String, into html: inout HTML) {
        html.raw("<td><span class=\"status status-\(HTML.escape(value))\">")
        html.text(value)
        html.raw("</span></td>")
    }
}
