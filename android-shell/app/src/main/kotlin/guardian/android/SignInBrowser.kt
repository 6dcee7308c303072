package guardian.android

import android.app.Activity
import android.content.Intent
import android.net.Uri
import android.os.Bundle

/**
 * The one step of the force sign-in the core cannot take: showing the
 * provider's page. The core builds the URL and checks the redirect; this
 * only opens it. A force that must use Microsoft's MSAL broker (Intune app
 * protection) puts its own implementation here (see README).
 */
fun interface SignInBrowser {
    fun open(from: Activity, url: String)
}

/**
 * Custom Tabs, the system browser over the app (RFC 8252: never a
 * WebView, whose page the app could read). Without the androidx.browser
 * library: a Custom Tab is a VIEW intent carrying the protocol's session
 * extra; a browser without Custom Tabs opens the page as a normal tab.
 */
object CustomTabs : SignInBrowser {
    const val EXTRA_SESSION = "android.support.customtabs.extra.SESSION"

    override fun open(from: Activity, url: String) {
        val intent = Intent(Intent.ACTION_VIEW, Uri.parse(url)).apply {
            addCategory(Intent.CATEGORY_BROWSABLE)
            putExtras(Bundle().apply { putBinder(EXTRA_SESSION, null) })
        }
        from.startActivity(intent)
    }
}
