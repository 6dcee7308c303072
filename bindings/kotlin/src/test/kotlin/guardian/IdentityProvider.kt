package guardian

import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpServer
import java.io.File
import java.math.BigInteger
import java.net.HttpURLConnection
import java.net.InetSocketAddress
import java.net.URI
import java.net.URLDecoder
import java.net.URLEncoder
import java.nio.charset.StandardCharsets.UTF_8
import java.security.KeyFactory
import java.security.MessageDigest
import java.security.Signature
import java.security.interfaces.RSAPrivateCrtKey
import java.security.spec.PKCS8EncodedKeySpec
import java.util.Base64
import java.util.UUID
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger

/**
 * The force's identity provider on loopback, JDK only: discovery, its RS256
 * key set, an authorization endpoint that signs in [user] at once and
 * redirects back with a code (the login form is the provider's business;
 * Keycloak runs the real one in scripts/keycloak-e2e.py), and a token
 * endpoint that checks PKCE and rotates refresh tokens. The backend started
 * with [Force.startTrusting] verifies its access tokens.
 */
class IdentityProvider : AutoCloseable {
    private val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    val issuer = "http://127.0.0.1:${server.address.port}/realm"
    @Volatile var user: String = OFFICER_ID
    val refreshes = AtomicInteger()

    private val key: RSAPrivateCrtKey = run {
        val pem = File(Paths.repo, "backend/tests/keys/rsa-a.pem").readText()
            .lines().filter { !it.startsWith("-----") }.joinToString("")
        KeyFactory.getInstance("RSA").generatePrivate(PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem))) as RSAPrivateCrtKey
    }
    private val codes = ConcurrentHashMap<String, Triple<String, String, String>>() // code -> user, nonce, challenge
    private val refresh = ConcurrentHashMap<String, String>() // live refresh token -> user

    init {
        server.createContext("/realm/.well-known/openid-configuration") { ex ->
            reply(ex, 200, """{"issuer":"$issuer","authorization_endpoint":"$issuer/auth","token_endpoint":"$issuer/token","jwks_uri":"$issuer/keys"}""")
        }
        server.createContext("/realm/keys") { ex ->
            reply(ex, 200, """{"keys":[{"kty":"RSA","use":"sig","kid":"kt-rsa-a","n":"${uint(key.modulus)}","e":"${uint(key.publicExponent)}"}]}""")
        }
        server.createContext("/realm/auth") { ex ->
            val q = form(ex.requestURI.rawQuery ?: "")
            if (q["code_challenge_method"] != "S256" || q["response_type"] != "code") {
                reply(ex, 400, """{"error":"invalid_request"}""")
            } else {
                val code = UUID.randomUUID().toString()
                codes[code] = Triple(user, q.getValue("nonce"), q.getValue("code_challenge"))
                ex.responseHeaders.add("Location", "${q["redirect_uri"]}?code=$code&state=${enc(q.getValue("state"))}&iss=${enc(issuer)}")
                ex.sendResponseHeaders(302, -1)
                ex.close()
            }
        }
        server.createContext("/realm/token") { ex ->
            val f = form(String(ex.requestBody.readAllBytes(), UTF_8))
            when (f["grant_type"]) {
                "authorization_code" -> {
                    val (who, nonce, challenge) = codes.remove(f["code"]) ?: return@createContext refuse(ex)
                    val proof = b64(MessageDigest.getInstance("SHA-256").digest(f.getValue("code_verifier").toByteArray()))
                    if (proof != challenge) return@createContext refuse(ex)
                    reply(ex, 200, tokens(who, nonce))
                }
                "refresh_token" -> {
                    val who = refresh.remove(f["refresh_token"]) ?: return@createContext refuse(ex)
                    refreshes.incrementAndGet()
                    reply(ex, 200, tokens(who, null))
                }
                else -> refuse(ex)
            }
        }
        server.start()
    }

    /** What the system browser gives the app for the core's URL: the provider's redirect. */
    fun browse(url: String): String {
        val c = URI(url).toURL().openConnection() as HttpURLConnection
        c.instanceFollowRedirects = false
        check(c.responseCode == 302) { "the provider refused the sign-in URL: ${c.responseCode}" }
        return c.getHeaderField("Location")
    }

    /** The force revokes every sign-in (a leaver, a lost phone). */
    fun revokeAll() = refresh.clear()

    private fun tokens(who: String, nonce: String?): String {
        val now = System.currentTimeMillis() / 1000
        val access = jwt("""{"iss":"$issuer","aud":"guardian-api","oid":"$who","roles":["officer"],"iat":$now,"exp":${now + 300}}""")
        val rt = UUID.randomUUID().toString()
        refresh[rt] = who
        val id = nonce?.let { jwt("""{"iss":"$issuer","aud":"guardian-handset","oid":"$who","nonce":"$it","iat":$now,"exp":${now + 300}}""") }
        return """{"access_token":"$access","token_type":"Bearer","expires_in":300,"refresh_token":"$rt"""" +
            (id?.let { ""","id_token":"$it"""" } ?: "") + "}"
    }

    private fun jwt(claims: String): String {
        val head = b64("""{"alg":"RS256","typ":"JWT","kid":"kt-rsa-a"}""".toByteArray()) + "." + b64(claims.toByteArray())
        val sig = Signature.getInstance("SHA256withRSA").apply { initSign(key); update(head.toByteArray()) }.sign()
        return head + "." + b64(sig)
    }

    private fun refuse(ex: HttpExchange) = reply(ex, 400, """{"error":"invalid_grant"}""")

    private fun reply(ex: HttpExchange, status: Int, body: String) {
        val bytes = body.toByteArray()
        ex.responseHeaders.add("Content-Type", "application/json")
        ex.sendResponseHeaders(status, bytes.size.toLong())
        ex.responseBody.use { it.write(bytes) }
    }

    override fun close() = server.stop(0)

    companion object {
        private fun b64(bytes: ByteArray): String = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes)
        private fun uint(n: BigInteger): String = b64(n.toByteArray().dropWhile { it == 0.toByte() }.toByteArray())
        private fun enc(s: String): String = URLEncoder.encode(s, UTF_8)
        fun form(s: String): Map<String, String> = s.split("&").filter { it.contains("=") }.associate {
            val (k, v) = it.split("=", limit = 2)
            URLDecoder.decode(k, UTF_8) to URLDecoder.decode(v, UTF_8)
        }
    }
}
