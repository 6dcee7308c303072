package guardian.android

import android.annotation.SuppressLint
import android.os.Bundle
import android.webkit.WebView
import android.widget.Button
import android.widget.TextView
import uniffi.guardian_ffi.LibraryException

/**
 * One article: the core's sanitised HTML in a WebView with JavaScript,
 * file and content access and network loads all off. Nothing but the
 * article's own markup is shown.
 */
class ArticleActivity : Screen() {
    private lateinit var articleId: String

    @SuppressLint("SetJavaScriptEnabled")
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_article)
        articleId = intent.getStringExtra(EXTRA_ARTICLE) ?: return finish()
        val web = findViewById<WebView>(R.id.body)
        lockDown(web)
        val g = guardian() ?: return
        try {
            val article = g.libraryOpenArticle(articleId)
            findViewById<TextView>(R.id.title).text = article.title
            findViewById<TextView>(R.id.meta).text = getString(R.string.article_minutes, article.readingMinutes.toInt())
            web.loadDataWithBaseURL(null, article.html, "text/html", "utf-8", null)
        } catch (e: LibraryException) {
            findViewById<TextView>(R.id.meta).text = e.message
        }
        findViewById<Button>(R.id.bookmark).setOnClickListener {
            try {
                val now = !g.libraryArticle(articleId).bookmarked
                g.librarySetBookmark(articleId, now)
            } catch (e: LibraryException) {
                findViewById<TextView>(R.id.meta).text = e.message
            }
            refresh()
        }
    }

    override fun refresh() {
        val g = guardian() ?: return
        val bookmarked = try {
            g.libraryArticle(articleId).bookmarked
        } catch (e: LibraryException) {
            false
        }
        findViewById<Button>(R.id.bookmark).setText(if (bookmarked) R.string.article_unbookmark else R.string.article_bookmark)
    }

    companion object {
        const val EXTRA_ARTICLE = "article_id"

        fun lockDown(web: WebView) {
            web.settings.apply {
                javaScriptEnabled = false
                allowFileAccess = false
                allowContentAccess = false
                blockNetworkLoads = true
                blockNetworkImage = true
                setGeolocationEnabled(false)
                saveFormData = false
            }
        }
    }
}
