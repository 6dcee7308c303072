package guardian.android

import android.location.Location
import android.os.Looper
import guardian.Force
import guardian.Paths
import guardian.loadGpx
import java.io.File
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.robolectric.Shadows.shadowOf
import uniffi.guardian_ffi.SignInConfig

/** Where the screens are drawn. */
val screens: File = File(System.getProperty("guardian.screens", "target/screens"))

/**
 * One force for the whole run (every test class shares Robolectric's one
 * sandbox), with the practice library published; stopped when the JVM ends.
 */
val force: Force by lazy {
    Force.start(Files.createTempDirectory("guardian-force")).also { f ->
        Force.cli("publish-library", "--db", f.db.toString(), File(Paths.repo, "library").path)
        Runtime.getRuntime().addShutdownHook(Thread { f.close() })
    }
}

/**
 * Robolectric has no AndroidKeyStore: a software AES key stands in, and
 * can be "lost" as Android loses a keystore key on a lock-screen reset.
 */
class SoftwareWrappingKey : WrappingKey {
    @Volatile private var key: SecretKey? = null
    override fun get(): SecretKey? = key
    override fun create(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey().also { key = it }
    fun lose() {
        key = null
    }
}

/** The app under test: the real shell with the test's keystore and force. */
class TestApp : GuardianApp() {
    override fun wrappingKey(): WrappingKey = Keys.current
    override fun backendUrl(): String = Keys.backendUrl
    override fun signInConfig(): SignInConfig? = Keys.signIn
}

/** The app for one test: a fresh keystore, the run's force. */
fun freshApp(): android.app.Application {
    Keys.current = SoftwareWrappingKey()
    Keys.backendUrl = force.url
    Keys.signIn = null
    return org.robolectric.RuntimeEnvironment.getApplication()
}

object Keys {
    var current = SoftwareWrappingKey()
    var backendUrl = "http://127.0.0.1:9"
    var signIn: SignInConfig? = null
}

/** A real GPX track as the OS would give its fixes (bindings' reader; monotonic time from the track's own clock). */
fun gpxLocations(name: String, provider: String): List<Location> = loadGpx(name).map { fix ->
    Location(provider).apply {
        latitude = fix.lat
        longitude = fix.lon
        accuracy = fix.accuracyM.toFloat()
        fix.altitudeM?.let { altitude = it }
        time = fix.timeMs
        elapsedRealtimeNanos = fix.monoNs
    }
}

/** Runs the main looper (and `others`) until `done`, or fails after `seconds`. */
fun waitFor(what: String, seconds: Long = 20, vararg others: Looper, done: () -> Boolean) {
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds)
    while (true) {
        for (l in others) shadowOf(l).idle()
        shadowOf(Looper.getMainLooper()).idle()
        if (done()) return
        check(System.nanoTime() < deadline) { "timed out waiting for: $what" }
        Thread.sleep(5)
    }
}
