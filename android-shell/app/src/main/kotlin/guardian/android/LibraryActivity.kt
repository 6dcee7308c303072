package guardian.android

import android.os.Bundle
import android.text.Html
import android.view.inputmethod.EditorInfo
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import uniffi.guardian_ffi.LibraryException

/** The practice library: every article, or the core's search hits (matches marked by the core). */
class LibraryActivity : Screen() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_library)
        val query = findViewById<EditText>(R.id.query)
        findViewById<Button>(R.id.search).setOnClickListener { refresh() }
        query.setOnEditorActionListener { _, action, _ ->
            (action == EditorInfo.IME_ACTION_SEARCH).also { if (it) refresh() }
        }
    }

    override fun refresh() {
        val g = guardian() ?: return
        val rows = findViewById<LinearLayout>(R.id.rows)
        val message = findViewById<TextView>(R.id.message)
        rows.removeAllViews()
        message.text = ""
        val q = findViewById<EditText>(R.id.query).text.toString().trim()
        try {
            if (g.libraryStatus().articles == 0u) {
                message.setText(R.string.library_empty)
                return
            }
            if (q.isEmpty()) {
                for (a in g.libraryArticles()) {
                    addRow(rows, a.title, a.summary) { read(a.id) }
                }
                return
            }
            val results = g.librarySearch(q, 50u)
            if (results.hits.isEmpty()) message.setText(R.string.library_no_hits)
            for (hit in results.hits) {
                // The core escaped everything but its own <mark>: safe to show as HTML.
                addRow(rows, Html.fromHtml(hit.titleHtml, Html.FROM_HTML_MODE_LEGACY), Html.fromHtml(hit.snippetHtml, Html.FROM_HTML_MODE_LEGACY)) {
                    read(hit.id)
                }
            }
        } catch (e: LibraryException) {
            message.text = e.message
        }
    }

    private fun read(id: String) = open<ArticleActivity> { putExtra(ArticleActivity.EXTRA_ARTICLE, id) }
}
