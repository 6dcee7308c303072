package guardian.android

import android.location.Location
import android.os.Looper
import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.time.Instant
import java.util.concurrent.TimeUnit
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.xml.parsers.DocumentBuilderFactory
import org.robolectric.Shadows.shadowOf
import org.w3c.dom.Element

/** Where the repository, the Cargo target dir and the fixtures are. */
object Paths {
    val repo: File = File(System.getProperty("guardian.repo", "..")).canonicalFile
    val target: File = File(System.getProperty("guardian.target", File(repo, "target").path)).let {
        if (it.isAbsolute) it else File(repo, it.path)
    }
    val backendBin: File =
        System.getenv("GUARDIAN_BACKEND_BIN")?.let(::File) ?: File(target, "debug/guardian-backend")
    val fixtures: File =
        System.getenv("GUARDIAN_FIXTURES")?.let(::File) ?: File(repo.parentFile, "shared/fixtures")
    val areas: File = File(repo, "sim/data/demo-areas.geojson")
    val screens: File = File(System.getProperty("guardian.screens", "target/screens"))
}

const val OFFICER_ID = "wm-5120"

/** The force's reference backend, in its own process on loopback (as bindings/kotlin's tests start it). */
class Force private constructor(val db: Path, val url: String, private val proc: Process) : AutoCloseable {
    companion object {
        fun start(dir: Path = Files.createTempDirectory("guardian-force")): Force {
            val db = dir.resolve("force.db")
            cli("load-areas", "--db", db.toString(), Paths.areas.path)
            cli("create-officer", "--db", db.toString(), "--id", OFFICER_ID, "--name", "PC Sam Patel", "--rank", "constable")
            cli("publish-library", "--db", db.toString(), File(Paths.repo, "library").path)
            val proc = ProcessBuilder(Paths.backendBin.path, "serve", "--db", db.toString(), "--addr", "127.0.0.1:0")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start()
            val reader = proc.errorStream.bufferedReader()
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
            while (System.nanoTime() < deadline) {
                val line = reader.readLine() ?: break
                val m = Regex("listening on (http://\\S+)").find(line)
                if (m != null) {
                    Thread { reader.useLines { it.forEach { } } }.apply { isDaemon = true }.start()
                    return Force(db, m.groupValues[1], proc)
                }
            }
            proc.destroyForcibly()
            error("the backend did not start")
        }

        fun cli(vararg args: String): String {
            val p = ProcessBuilder(Paths.backendBin.path, *args).start()
            val out = p.inputStream.bufferedReader().readText()
            val err = p.errorStream.bufferedReader().readText()
            check(p.waitFor() == 0) { "guardian-backend ${args.joinToString(" ")} failed: $err" }
            return out.trim()
        }
    }

    fun token(sub: String = OFFICER_ID, role: String = "officer"): String =
        cli("token", "--db", db.toString(), "--sub", sub, "--role", role)

    override fun close() {
        proc.destroy()
        if (!proc.waitFor(10, TimeUnit.SECONDS)) proc.destroyForcibly()
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
}

object Keys {
    var current = SoftwareWrappingKey()
    var backendUrl = "http://127.0.0.1:9"
}

/** A real GPX track as the OS would give its fixes (monotonic time from the track's own clock). */
fun gpxLocations(name: String, provider: String): List<Location> {
    val doc = DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }
        .newDocumentBuilder().parse(File(Paths.fixtures, "tracks/$name"))
    val points = doc.getElementsByTagNameNS("*", "trkpt")
    val out = ArrayList<Location>()
    var first: Long? = null
    for (i in 0 until points.length) {
        val pt = points.item(i) as Element
        fun child(tag: String) = pt.getElementsByTagNameNS("*", tag).item(0)?.textContent?.trim()
        val time = child("time") ?: continue
        val ms = Instant.parse(time).toEpochMilli()
        val start = first ?: ms.also { first = it }
        out += Location(provider).apply {
            latitude = pt.getAttribute("lat").toDouble()
            longitude = pt.getAttribute("lon").toDouble()
            accuracy = (child("hdop")?.toDouble()?.times(5.0) ?: 10.0).toFloat()
            child("ele")?.toDouble()?.let { altitude = it }
            this.time = ms
            elapsedRealtimeNanos = 3_600_000_000_000L + (ms - start) * 1_000_000L
        }
    }
    return out
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
