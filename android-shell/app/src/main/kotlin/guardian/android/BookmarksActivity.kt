package guardian.android

import android.os.Bundle
import android.widget.LinearLayout
import android.widget.TextView
import uniffi.guardian_ffi.LibraryException

/** The officer's bookmarks; one withdrawn by a library update says so. */
class BookmarksActivity : Screen() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_list)
        findViewById<TextView>(R.id.title).setText(R.string.bookmarks_title)
    }

    override fun refresh() {
        val g = guardian() ?: return
        val rows = findViewById<LinearLayout>(R.id.rows)
        rows.removeAllViews()
        val bookmarks = try {
            g.libraryBookmarks()
        } catch (e: LibraryException) {
            addRow(rows, e.message ?: "", null)
            return
        }
        if (bookmarks.isEmpty()) addRow(rows, getString(R.string.bookmarks_empty), null)
        for (b in bookmarks) {
            val a = b.article
            if (a == null) {
                addRow(rows, b.articleId, getString(R.string.bookmark_withdrawn))
            } else {
                addRow(rows, a.title, a.summary) { open<ArticleActivity> { putExtra(ArticleActivity.EXTRA_ARTICLE, a.id) } }
            }
        }
    }
}
