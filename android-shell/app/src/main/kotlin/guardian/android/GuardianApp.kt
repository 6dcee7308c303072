package guardian.android

import android.app.Application
import android.app.NotificationChannel
import android.app.NotificationManager
import android.content.Context

/** Holds the process's [Handset]; the platform pieces are overridable for tests. */
open class GuardianApp : Application() {
    val handset: Handset by lazy {
        Handset(this, KeyVault(noBackupFilesDir, wrappingKey()), backendUrl())
    }

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
