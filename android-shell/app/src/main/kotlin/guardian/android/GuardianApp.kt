package guardian.android

import android.app.Application
import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context
import uniffi.guardian_ffi.SignInConfig

/** Holds the process's [Handset]; the platform pieces are overridable for tests. */
open class GuardianApp : Application() {
    val handset: Handset by lazy {
        Handset(this, KeyVault(noBackupFilesDir, wrappingKey()), backendUrl(), signInConfig())
    }

    /** The force's identity provider for this build; null: the demo's dev tokens. */
    protected open fun signInConfig(): SignInConfig? = getString(R.string.force_issuer).takeIf { it.isNotBlank() }?.let {
        SignInConfig(it, getString(R.string.force_client_id), getString(R.string.force_redirect_uri), getString(R.string.force_scopes), null)
    }

    /** How the sign-in page is shown: Custom Tabs, or a force's MSAL adapter. */
    open fun signInBrowser(): SignInBrowser = CustomTabs

    /** The AndroidKeyStore; Robolectric has none, so its tests use a software key. */
    protected open fun wrappingKey(): WrappingKey = KeystoreWrappingKey()

    /** The force's backend for this build. */
    protected open fun backendUrl(): String = getString(R.string.default_backend_url)

    override fun onCreate() {
        super.onCreate()
        Handset.forwardLogs()
        getSystemService(NotificationManager::class.java).createNotificationChannel(
            NotificationChannel(PatrolService.CHANNEL, getString(R.string.channel_patrol), NotificationManager.IMPORTANCE_LOW)
                .apply { description = getString(R.string.channel_patrol_description) },
        )
    }
}

val Context.handset: Handset get() = (applicationContext as GuardianApp).handset
