// The practice library: topics, search, the article (the core's sanitised
// HTML in a WKWebView with JavaScript off and no network), bookmarks.

import GuardianKit
import SwiftUI
import WebKit

struct LibraryView: View {
    @EnvironmentObject private var handset: Handset
    @State private var query = ""
    @State private var topics: [TopicEntry] = []
    @State private var results: SearchResults?
    @State private var error: String?

    var body: some View {
        List {
            if let results {
                if results.hits.isEmpty { Text("Nothing found.") }
                ForEach(results.hits, id: \.id) { hit in
                    NavigationLink { ArticleScreen(articleId: hit.id) } label: {
                        VStack(alignment: .leading) {
                            Text(hit.title).font(.headline)
                            Text(hit.snippet).font(.caption).foregroundStyle(.secondary)
                        }
                    }
                }
            } else {
                if topics.isEmpty { Text("The library has not arrived on this phone yet. It comes with the next sync.") }
                ForEach(topics, id: \.id) { topic in
                    NavigationLink("\(topic.title) (\(topic.articles))") { TopicScreen(topic: topic) }
                }
            }
            if let error { Text(error).foregroundStyle(.red) }
        }
        .searchable(text: $query, prompt: "Search the library")
        .onSubmit(of: .search) { Task { await search() } }
        .onChange(of: query) { if $0.isEmpty { results = nil } }
        .navigationTitle("Practice library")
        .task { await load() }
    }

    private func load() async {
        guard let core = handset.core else { return }
        do {
            topics = try await core.topics()
        } catch {
            self.error = handset.explain(error)
        }
    }

    private func search() async {
        guard let core = handset.core, !query.isEmpty else { return }
        do {
            results = try await core.search(query)
            error = nil
        } catch {
            self.error = handset.explain(error)
        }
    }
}

struct TopicScreen: View {
    @EnvironmentObject private var handset: Handset
    let topic: TopicEntry
    @State private var articles: [ArticleSummary] = []

    var body: some View {
        List(articles, id: \.id) { article in
            NavigationLink { ArticleScreen(articleId: article.id) } label: { ArticleRow(article: article) }
        }
        .navigationTitle(topic.title)
        .task { articles = (try? await handset.core?.articles(topicId: topic.id)) ?? [] }
    }
}

struct ArticleRow: View {
    let article: ArticleSummary

    var body: some View {
        VStack(alignment: .leading) {
            Text(article.title).font(.headline)
            Text(article.summary).font(.caption)
            Text("\(article.readingMinutes) min read").font(.caption2).foregroundStyle(.secondary)
        }
    }
}

struct ArticleScreen: View {
    @EnvironmentObject private var handset: Handset
    let articleId: String
    @State private var article: ArticleView?
    @State private var error: String?

    var body: some View {
        Group {
            if let article {
                VStack(alignment: .leading) {
                    Text("\(article.readingMinutes) min read").font(.caption).padding(.horizontal)
                    ArticleWebView(html: article.html)
                }
                .toolbar {
                    Button(article.bookmarked ? "Remove bookmark" : "Bookmark") { Task { await toggleBookmark() } }
                }
                .navigationTitle(article.title)
            } else if let error {
                Text(error)
            } else {
                ProgressView()
            }
        }
        .task { await load() }
    }

    private func load() async {
        guard let core = handset.core else { return }
        do {
            article = try await core.openArticle(id: articleId)
        } catch {
            self.error = handset.explain(error)
        }
    }

    private func toggleBookmark() async {
        guard let core = handset.core, let current = article else { return }
        do {
            _ = try await core.setBookmark(articleId: current.id, !current.bookmarked)
            article = try await core.openArticle(id: articleId)
        } catch {
            self.error = handset.explain(error)
        }
    }
}

/// The core's sanitised HTML, shown with JavaScript off, no base URL (so
/// nothing relative resolves to a file or the network) and links kept in
/// the view's own navigation refused.
struct ArticleWebView: UIViewRepresentable {
    let html: String

    func makeUIView(context: Context) -> WKWebView {
        let config = WKWebViewConfiguration()
        config.defaultWebpagePreferences.allowsContentJavaScript = false
        config.preferences.javaScriptCanOpenWindowsAutomatically = false
        config.websiteDataStore = .nonPersistent()
        let view = WKWebView(frame: .zero, configuration: config)
        view.navigationDelegate = context.coordinator
        return view
    }

    func updateUIView(_ view: WKWebView, context: Context) {
        let page = "<html><head><meta name=\"viewport\" content=\"width=device-width\"></head><body>\(html)</body></html>"
        view.loadHTMLString(page, baseURL: nil)
    }

    func makeCoordinator() -> Coordinator { Coordinator() }

    final class Coordinator: NSObject, WKNavigationDelegate {
        func webView(
            _ webView: WKWebView,
            decidePolicyFor navigationAction: WKNavigationAction,
            decisionHandler: @escaping (WKNavigationActionPolicy) -> Void
        ) {
            decisionHandler(navigationAction.navigationType == .other ? .allow : .cancel)
        }
    }
}

struct BookmarksView: View {
    @EnvironmentObject private var handset: Handset
    @State private var bookmarks: [PrefsEntry] = []

    var body: some View {
        List {
            if bookmarks.isEmpty { Text("No bookmarks yet.") }
            ForEach(bookmarks, id: \.articleId) { entry in
                if let article = entry.article {
                    NavigationLink { ArticleScreen(articleId: entry.articleId) } label: { ArticleRow(article: article) }
                } else {
                    Text("This article was withdrawn from the library.").foregroundStyle(.secondary)
                }
            }
        }
        .navigationTitle("Bookmarks")
        .task { bookmarks = (try? await handset.core?.bookmarks()) ?? [] }
    }
}
