package guardian.android

import android.content.Context
import android.location.LocationManager
import android.net.ConnectivityManager
import android.net.Network
import android.os.Handler
import android.os.Looper
import android.util.Log
import java.io.File
import java.util.concurrent.CopyOnWriteArraySet
import uniffi.guardian_ffi.AuthException
import uniffi.guardian_ffi.EventListener
import uniffi.guardian_ffi.Guardian
import uniffi.guardian_ffi.Fix
import uniffi.guardian_ffi.GuardianConfig
import uniffi.guardian_ffi.GuardianEvent
import uniffi.guardian_ffi.LogLevel
import uniffi.guardian_ffi.LogRecord
import uniffi.guardian_ffi.LogSink
import uniffi.guardian_ffi.Officer
import uniffi.guardian_ffi.StoreException
import uniffi.guardian_ffi.SyncException
import uniffi.guardian_ffi.TokenProvider
import uniffi.guardian_ffi.RecoveryReport
import uniffi.guardian_ffi.SignInConfig
import uniffi.guardian_ffi.recoverStore
import uniffi.guardian_ffi.setLogSink

/** The result of opening the core: the core, or what to tell the officer. */
sealed interface Opened {
    class Ready(val guardian: Guardian) : Opened
    class Failed(val problem: Problem, val detail: String?) : Opened
}

/**
 * The process's one [Guardian]: opened with the key from the [KeyVault],
 * told about connectivity and the force's sign-in, and its events handed
 * to whoever listens, on the main thread. Everything the officer did is in
 * the core's database; this holds nothing that a killed process would lose.
 * With [signIn] the core holds the tokens (refresh token in its encrypted
 * store); without it (the demo backend) a pasted dev token is kept here.
 */
class Handset(
    private val context: Context,
    private val vault: KeyVault,
    val backendUrl: String,
    private val signIn: SignInConfig? = null,
) {
    private val dir: File = context.noBackupFilesDir
    private val dbFile = File(dir, "guardian.db")
    private val tokenFile = File(dir, "token.wrapped")
    /** The core holds the force sign-in; this only marks that there is one. */
    private val signedInFile = File(dir, "signed-in")
    private val main = Handler(Looper.getMainLooper())
    private val listeners = CopyOnWriteArraySet<(GuardianEvent) -> Unit>()
    private var guardian: Guardian? = null
    private var syncing = false
    private var network: ConnectivityManager.NetworkCallback? = null

    /** The core calls this on its own threads; listeners run on the main thread. */
    private val fanOut = object : EventListener {
        override fun onEvent(event: GuardianEvent) {
            main.post {
                if (event is GuardianEvent.Wiped || event is GuardianEvent.AuthRequired) forgetLogin()
                listeners.forEach { it(event) }
            }
        }
    }

    /** The login token as the core asks for it (sync engine's thread). */
    private val tokens = object : TokenProvider {
        override fun token(): String = storedToken() ?: throw AuthException.Failed("the officer is not signed in")

        // A pasted token cannot be renewed here; the core then reports
        // SyncException.Auth and the shell asks the officer to sign in again.
        override fun refresh(): String = throw AuthException.Failed("the login has expired: sign in again")
    }

    val signedIn: Boolean get() = tokenFile.exists() || signedInFile.exists()

    /** The force's provider is configured: sign-in is through the browser. */
    val forceSignIn: Boolean get() = signIn != null

    private val noticeListeners = CopyOnWriteArraySet<(String?) -> Unit>()

    /** The last word for the officer from the shell's own work (a check-in refused, a permission missing). */
    @Volatile var notice: String? = null
        private set

    /** Tells the screens something (null clears it); listeners run on the main thread. */
    fun announce(text: String?) {
        notice = text
        main.post { noticeListeners.forEach { it(text) } }
    }

    fun onNotice(listener: (String?) -> Unit): AutoCloseable {
        noticeListeners.add(listener)
        return AutoCloseable { noticeListeners.remove(listener) }
    }

    private fun config() = GuardianConfig(dbFile.path, backendUrl, null, null)

    /** Opens the core (once per process). Cheap after the first call. */
    @Synchronized
    fun open(): Opened {
        guardian?.let { return Opened.Ready(it) }
        return try {
            val key = vault.databaseKey()
            val g = try {
                Guardian.open(config(), key)
            } finally {
                key.fill(0)
            }
            g.setEventListener(fanOut)
            signIn?.let { g.configureSignIn(it) }
            guardian = g
            if (signedIn) startSync(g)
            Opened.Ready(g)
        } catch (e: KeyLostException) {
            Opened.Failed(Problem.UNREADABLE, e.message)
        } catch (e: StoreException) {
            Opened.Failed(Problem.of(e), e.message)
        } catch (e: SyncException) {
            // A sign-in configuration the core refuses (not https): a
            // build fault that only a fixed build mends.
            Opened.Failed(Problem.UPDATE_APP, e.message)
        }
    }

    /**
     * For a damaged database only (StoreException.Corrupt): the core moves
     * the file aside and starts a clean one with what it could read; the
     * next sync sends what the force has not had yet.
     */
    @Synchronized
    fun recover(): RecoveryReport {
        close()
        val key = vault.databaseKey()
        try {
            return recoverStore(config(), key)
        } finally {
            key.fill(0)
        }
    }

    /** The OS's last fix, for a referral's location (null without permission or a fix). */
    fun lastFix(): Fix? = try {
        val lm = context.getSystemService(LocationManager::class.java)
        lm.getLastKnownLocation(PatrolService.provider(lm))?.toFix()
    } catch (e: SecurityException) {
        null
    }

    /** The open core, or null if it could not be opened. */
    fun guardianOrNull(): Guardian? = (open() as? Opened.Ready)?.guardian

    /**
     * Stores the login's token, starts sync and pulls the officer, areas
     * and assignments. Returns the officer, or null if the force has none
     * for this token. @throws SyncException (Auth, Network, …)
     */
    suspend fun signIn(token: String): Officer? {
        val g = guardianOrNull() ?: return null
        vault.seal(tokenFile, token.trim().toByteArray())
        startSync(g)
        try {
            g.syncNow()
        } catch (e: SyncException.Auth) {
            forgetLogin()
            throw e
        }
        return g.officer()
    }

    /** The force's sign-in page for the [SignInBrowser]. @throws SyncException */
    suspend fun beginSignIn(): String {
        val g = guardianOrNull() ?: throw SyncException.NotStarted("the handset's store is not open")
        return g.beginSignIn()
    }

    /**
     * The browser's redirect, whole, to the core; then sync pulls the
     * officer, areas and assignments. @throws SyncException (Auth: not this
     * sign-in or refused; Unsynced: another officer's records wait)
     */
    suspend fun completeSignIn(redirect: String): Officer? {
        val g = guardianOrNull() ?: return null
        g.completeSignIn(redirect)
        signedInFile.writeText("")
        startSync(g)
        try {
            g.syncNow()
        } catch (e: SyncException.Network) {
            // Signed in; the first sync waits for signal.
        }
        return g.officer()
    }

    fun subscribe(listener: (GuardianEvent) -> Unit): AutoCloseable {
        listeners.add(listener)
        return AutoCloseable { listeners.remove(listener) }
    }

    @Synchronized
    private fun startSync(g: Guardian) {
        if (syncing) return
        g.startSync(if (forceSignIn) null else tokens)
        syncing = true
        watchNetwork(g)
        SyncJobService.schedule(context)
    }

    /**
     * Connectivity → the core's online flag; going online starts a pass.
     * The default-network callback: losing it means offline until Android
     * names a new default (onAvailable).
     */
    private fun watchNetwork(g: Guardian) {
        val cm = context.getSystemService(ConnectivityManager::class.java)
        fun report(online: Boolean) {
            try {
                g.setOnline(online)
            } catch (e: SyncException) {
                Log.w(TAG, "setOnline: ${e.javaClass.simpleName}")
            }
        }
        val callback = object : ConnectivityManager.NetworkCallback() {
            override fun onAvailable(network: Network) = report(true)
            override fun onLost(network: Network) = report(false)
        }
        cm.registerDefaultNetworkCallback(callback)
        // Android calls back at once when a network is up; say where things stand now either way.
        report(cm.activeNetwork != null)
        network = callback
    }

    private fun storedToken(): String? = try {
        if (tokenFile.exists()) String(vault.unseal(tokenFile)) else null
    } catch (e: KeyLostException) {
        null
    }

    private fun forgetLogin() {
        tokenFile.delete()
        signedInFile.delete()
    }

    /** Closes the core (the database stays). The next [open] opens it afresh. */
    @Synchronized
    fun close() {
        network?.let { context.getSystemService(ConnectivityManager::class.java).unregisterNetworkCallback(it) }
        network = null
        guardian?.let {
            it.stopSync()
            it.setEventListener(null)
            it.close()
        }
        guardian = null
        syncing = false
    }

    /**
     * For unreadable data only: deletes the database, its key and the login,
     * so the officer can sign in and start again. What reached the force is
     * kept there; what did not could not be read anyway.
     */
    @Synchronized
    fun startAfresh() {
        close()
        for (suffix in listOf("", "-wal", "-shm", "-journal")) File(dir, "guardian.db$suffix").delete()
        vault.reset()
        forgetLogin()
    }

    companion object {
        const val TAG = "Guardian"

        @Volatile private var forwarding = false

        /** The core's logs (never personal data: see bindings/src/log.rs) to logcat, once per process. */
        @Synchronized
        fun forwardLogs() {
            if (forwarding) return
            forwarding = true
            setLogSink(logcat, LogLevel.INFO)
        }

        private val logcat = object : LogSink {
            override fun log(record: LogRecord) {
                val text = "${record.target}: ${record.message}"
                when (record.level) {
                    LogLevel.ERROR -> Log.e(TAG, text)
                    LogLevel.WARN -> Log.w(TAG, text)
                    LogLevel.INFO -> Log.i(TAG, text)
                    else -> Log.d(TAG, text)
                }
            }
        }
    }
}
