package guardian.android

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/** Where the key that wraps the database key lives. */
interface WrappingKey {
    /** The key, or null when the keystore no longer has it. */
    fun get(): SecretKey?
    fun create(): SecretKey
}

/**
 * An AES-256-GCM key in the AndroidKeyStore: never leaves the secure
 * hardware. Android deletes it on some lock-screen resets and it never
 * travels to a new phone, which is what [KeyLostException] is for.
 */
class KeystoreWrappingKey(private val alias: String = "guardian-db-key-wrap") : WrappingKey {
    override fun get(): SecretKey? = try {
        val store = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
        store.getKey(alias, null) as SecretKey?
    } catch (e: GeneralSecurityException) {
        // UnrecoverableKeyException and the like: the key is there but cannot be used.
        throw KeyLostException("the keystore cannot give the key that protects Guardian's data", e)
    }

    override fun create(): SecretKey {
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        generator.init(
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return generator.generateKey()
    }
}

/** The wrapped secret is there but cannot be unwrapped: the data is unreadable. */
class KeyLostException(message: String, cause: Throwable? = null) : Exception(message, cause)

/**
 * The database key: 32 random bytes made once, kept on disk only wrapped
 * (AES-GCM) by a [WrappingKey], unwrapped at start and handed to the core
 * (which uses it as SQLCipher's raw key). Also seals the login token the
 * same way. Files sit in no-backup storage: a restored backup could not be
 * unwrapped on another phone anyway.
 */
class KeyVault(private val dir: File, private val wrapping: WrappingKey) {
    private val random = SecureRandom()
    private val dbKeyFile get() = File(dir, "db.key.wrapped")

    /** The database key, made on first use. @throws KeyLostException */
    fun databaseKey(): ByteArray {
        if (dbKeyFile.exists()) return unseal(dbKeyFile)
        val key = ByteArray(32).also(random::nextBytes)
        seal(dbKeyFile, key)
        return key
    }

    /** Writes `secret` wrapped, atomically (a torn write must not lose the key). */
    fun seal(file: File, secret: ByteArray) {
        val key = wrapping.get() ?: wrapping.create()
        val cipher = Cipher.getInstance(TRANSFORMATION)
        // The keystore picks the IV itself (it refuses one from the caller).
        cipher.init(Cipher.ENCRYPT_MODE, key)
        val blob = cipher.iv + cipher.doFinal(secret)
        dir.mkdirs()
        val tmp = File(dir, file.name + ".tmp")
        tmp.writeBytes(blob)
        check(tmp.renameTo(file)) { "could not store ${file.name}" }
    }

    /** @throws KeyLostException when the wrapping key is gone or no longer matches. */
    fun unseal(file: File): ByteArray {
        val key = wrapping.get() ?: throw KeyLostException("the keystore no longer holds the key that protects ${file.name}")
        val blob = file.readBytes()
        if (blob.size <= IV_BYTES) throw KeyLostException("${file.name} is damaged")
        return try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(128, blob, 0, IV_BYTES))
            cipher.doFinal(blob, IV_BYTES, blob.size - IV_BYTES)
        } catch (e: GeneralSecurityException) {
            // A key made afresh (after the old one was deleted) fails the GCM tag.
            throw KeyLostException("${file.name} cannot be unwrapped with the keystore's key", e)
        }
    }

    /** Forgets the database key: only for starting afresh once the data is unreadable. */
    fun reset() {
        dbKeyFile.delete()
    }

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
    }
}
