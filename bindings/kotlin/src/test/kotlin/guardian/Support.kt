package guardian

import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import java.nio.file.Path
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import javax.xml.parsers.DocumentBuilderFactory
import org.w3c.dom.Element
import uniffi.guardian_ffi.AuthException
import uniffi.guardian_ffi.EventListener
import uniffi.guardian_ffi.Fix
import uniffi.guardian_ffi.Guardian
import uniffi.guardian_ffi.GuardianConfig
import uniffi.guardian_ffi.GuardianEvent
import uniffi.guardian_ffi.TokenProvider

/** Where the repository, the Cargo target dir and the fixtures are. */
object Paths {
    val repo: File = File(System.getProperty("guardian.repo", "../..")).canonicalFile
    val target: File = File(System.getProperty("guardian.target", File(repo, "target").path)).let {
        if (it.isAbsolute) it else File(repo, it.path)
    }
    val backendBin: File =
        System.getenv("GUARDIAN_BACKEND_BIN")?.let(::File) ?: File(target, "debug/guardian-backend")
    val fixtures: File =
        System.getenv("GUARDIAN_FIXTURES")?.let(::File) ?: File(repo.parentFile, "shared/fixtures")
    val areas: File = File(repo, "sim/data/demo-areas.geojson")
}

const val OFFICER_ID = "wm-5120"
val KEY = ByteArray(32) { (it + 1).toByte() }

/** The force's reference backend, served from its own process on loopback. */
class Force private constructor(val db: Path, val url: String, private val proc: Process) : AutoCloseable {
    companion object {
        fun start(dir: Path): Force = serve(dir)

        /** A backend that trusts only [provider]'s tokens (no dev tokens). */
        fun startTrusting(dir: Path, provider: IdentityProvider): Force {
            // A force's provider comes with the force's own referral keys.
            val keys = dir.resolve("referral.keys").toString()
            cli("new-referral-key", "--keys-file", keys, "--id", "test")
            return serve(
                dir, "--oidc-issuer", provider.issuer, "--oidc-audience", "guardian-api",
                "--referral-keys-file", keys,
            )
        }

        private fun serve(dir: Path, vararg extra: String): Force {
            val db = dir.resolve("force.db")
            cli("load-areas", "--db", db.toString(), Paths.areas.path)
            cli("create-officer", "--db", db.toString(), "--id", OFFICER_ID, "--name", "PC Sam Patel", "--rank", "constable")
            val proc = ProcessBuilder(Paths.backendBin.path, "serve", "--db", db.toString(), "--addr", "127.0.0.1:0", *extra)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start()
            val reader = proc.errorStream.bufferedReader()
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
            while (System.nanoTime() < deadline) {
                val line = reader.readLine() ?: break
                val m = Regex("listening on (http://\\S+)").find(line)
                if (m != null) {
                    // Keep draining stderr so the backend never blocks on it.
                    Thread { reader.useLines { it.forEach { } } }.apply { isDaemon = true }.start()
                    return Force(db, m.groupValues[1], proc)
                }
            }
            proc.destroyForcibly()
            error("the backend did not start")
        }

        fun cli(vararg args: String): String {
            val p = ProcessBuilder(Paths.backendBin.path, *args).redirectErrorStream(false).start()
            val out = p.inputStream.bufferedReader().readText()
            val err = p.errorStream.bufferedReader().readText()
            check(p.waitFor() == 0) { "guardian-backend ${args.joinToString(" ")} failed: $err" }
            return out.trim()
        }
    }

    fun token(sub: String = OFFICER_ID, role: String = "officer"): String =
        cli("token", "--db", db.toString(), "--sub", sub, "--role", role)

    /** `export --summary`: the board's figures as the force computes them. */
    fun summary(): Map<String, Double> {
        val json = cli("export", "--db", db.toString(), "--summary")
        return Regex("\"(\\w+)\":\\s*([0-9.]+)").findAll(json).associate { it.groupValues[1] to it.groupValues[2].toDouble() }
    }

    /** POSTs JSON as a client of the force's API would; returns the reply body. */
    fun post(path: String, json: String, token: String): String {
        val c = URI("$url$path").toURL().openConnection() as HttpURLConnection
        c.requestMethod = "POST"
        c.doOutput = true
        c.setRequestProperty("Authorization", "Bearer $token")
        c.setRequestProperty("Content-Type", "application/json")
        c.outputStream.use { it.write(json.toByteArray()) }
        check(c.responseCode in 200..201) { "POST $path refused: ${c.responseCode}" }
        return c.inputStream.bufferedReader().readText()
    }

    /** A Navigator on `authority`'s team (its slug). */
    fun addNavigator(id: String, authority: String) {
        post(
            "/v1/admin/navigators",
            """{"navigator_id":"$id","display_name":"Navigator $id","authority":"$authority"}""",
            token("ops-admin", "admin"),
        )
    }

    /** What a Navigator does on the desk: its page's form, posted with their token (the desk answers 303). */
    fun navigatorAct(navigator: String, referralId: String, form: String) {
        val c = URI("$url/navigator/referrals/$referralId").toURL().openConnection() as HttpURLConnection
        c.instanceFollowRedirects = false
        c.requestMethod = "POST"
        c.doOutput = true
        c.setRequestProperty("Authorization", "Bearer ${token(navigator, "navigator")}")
        c.setRequestProperty("Content-Type", "application/x-www-form-urlencoded")
        c.outputStream.use { it.write(form.toByteArray()) }
        check(c.responseCode == 303) { "the desk refused $form: ${c.responseCode}" }
    }

    fun wipe(officerId: String = OFFICER_ID) {
        post("/v1/admin/commands", """{"officer_id":"$officerId","kind":"wipe"}""", token("ops-admin", "admin"))
    }

    override fun close() {
        proc.destroy()
        if (!proc.waitFor(10, TimeUnit.SECONDS)) proc.destroyForcibly()
    }
}

/** The shell's login: a token, and a fresh one on refresh. */
class Tokens(private val force: Force) : TokenProvider {
    @Volatile var current: String = force.token()
    @Volatile var refreshes = 0

    override fun token(): String = current

    override fun refresh(): String {
        refreshes += 1
        current = force.token()
        return current
    }
}

class NoLogin : TokenProvider {
    override fun token(): String = throw AuthException.Failed("the officer is not signed in")
    override fun refresh(): String = throw AuthException.Failed("the officer is not signed in")
}

class Events : EventListener {
    val seen = CopyOnWriteArrayList<GuardianEvent>()
    override fun onEvent(event: GuardianEvent) {
        seen.add(event)
    }
}

fun openHandset(path: Path, url: String = "http://127.0.0.1:9", key: ByteArray = KEY): Guardian =
    Guardian.open(GuardianConfig(dbPath = path.toString(), backendUrl = url, pinnedCaPem = null, requestTimeoutMs = null), key)

fun tempDir(): Path = Files.createTempDirectory("guardian-kt")

/** A real GPX track as OS fixes, made as the simulator makes them. */
fun loadGpx(name: String): List<Fix> {
    val doc = DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }
        .newDocumentBuilder().parse(File(Paths.fixtures, "tracks/$name"))
    val points = doc.getElementsByTagNameNS("*", "trkpt")
    val fixes = ArrayList<Fix>()
    var first: Long? = null
    for (i in 0 until points.length) {
        val pt = points.item(i) as Element
        fun child(tag: String) = pt.getElementsByTagNameNS("*", tag).item(0)?.textContent?.trim()
        val time = child("time") ?: continue
        val ms = Instant.parse(time).toEpochMilli()
        val start = first ?: ms.also { first = it }
        fixes += Fix(
            timeMs = ms,
            monoNs = 3_600_000_000_000L + (ms - start) * 1_000_000L,
            lat = pt.getAttribute("lat").toDouble(),
            lon = pt.getAttribute("lon").toDouble(),
            accuracyM = child("hdop")?.toDouble()?.times(5.0) ?: 10.0,
            altitudeM = child("ele")?.toDouble(),
            speedMps = null,
            bearingDeg = null,
        )
    }
    return fixes
}
