// The Android shell for users: a standard Gradle build (Android Gradle
// Plugin 8). CI builds the same app/src trees with pom.xml instead (no
// Android SDK here); see README.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "guardian-android"
include(":app")
