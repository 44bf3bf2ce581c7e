using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace MailAccessForensics.Native
{
    /// <summary>
    /// Finds maf_native in the module's own folder (runtimes/&lt;rid&gt;/native/), whatever the
    /// current directory, and checks that it speaks the ABI this assembly was built against.
    /// </summary>
    internal static class NativeLibraryLoader
    {
        /// <summary>Full path of a native library to use instead of the bundled one.</summary>
        internal const string OverrideVariable = "MAILACCESSFORENSICS_NATIVE_LIBRARY";

        private static readonly object Gate = new object();
        private static bool _loaded;
        private static string _resolvedPath;

        /// <summary>
        /// Loads the library once per process and verifies its ABI version. Throws
        /// <see cref="InvalidOperationException"/> with a message for the user when the library is
        /// missing, unloadable or from another build.
        /// </summary>
        internal static void EnsureLoaded()
        {
            lock (Gate)
            {
                if (_loaded)
                {
                    return;
                }
                _resolvedPath = ResolvePath();
                if (!File.Exists(_resolvedPath))
                {
                    throw new InvalidOperationException(
                        $"MailAccessForensics cannot find its native library at '{_resolvedPath}'. " +
                        $"The module folder is incomplete for this platform ({RuntimeIdentifier()}): reinstall the module, " +
                        $"or build it with ./build.ps1 Build. To use another copy, set {OverrideVariable} to its full path.");
                }
                Register();
                uint version;
                try
                {
                    version = NativeMethods.maf_abi_version();
                }
                catch (Exception e) when (e is DllNotFoundException || e is BadImageFormatException || e is EntryPointNotFoundException)
                {
                    throw new InvalidOperationException(
                        $"MailAccessForensics cannot load its native library '{_resolvedPath}': {e.Message}", e);
                }
                if (version != NativeMethods.MAF_ABI_VERSION)
                {
                    throw new InvalidOperationException(
                        $"MailAccessForensics' native library '{_resolvedPath}' speaks ABI version {version}, " +
                        $"but this module needs version {NativeMethods.MAF_ABI_VERSION}: the module folder mixes files " +
                        "from two builds. Reinstall the module, or rebuild it with ./build.ps1 Build.");
                }
                _loaded = true;
            }
        }

        internal static string ResolvedPath => _resolvedPath;

        internal static string ResolvePath()
        {
            string fromEnvironment = Environment.GetEnvironmentVariable(OverrideVariable);
            if (!string.IsNullOrEmpty(fromEnvironment))
            {
                return Path.GetFullPath(fromEnvironment);
            }
            // The assembly sits in <module>/bin/<framework>/; the library in <module>/runtimes/.
            string assemblyDirectory = Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location);
            string moduleRoot = Path.GetFullPath(Path.Combine(assemblyDirectory, "..", ".."));
            return Path.Combine(moduleRoot, "runtimes", RuntimeIdentifier(), "native", FileName());
        }

        internal static string FileName()
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                return "maf_native.dll";
            }
            return RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "libmaf_native.dylib" : "libmaf_native.so";
        }

        internal static string RuntimeIdentifier()
        {
            string os = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "win"
                : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "osx"
                : "linux";
            string arch;
            switch (RuntimeInformation.ProcessArchitecture)
            {
                case Architecture.X64: arch = "x64"; break;
                case Architecture.X86: arch = "x86"; break;
                case Architecture.Arm64: arch = "arm64"; break;
                case Architecture.Arm: arch = "arm"; break;
                default: arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(); break;
            }
            return os + "-" + arch;
        }

#if NETFRAMEWORK
        // Windows PowerShell 5.1: load the library once by full path before the first P/Invoke;
        // later [DllImport]s find the loaded module by name. SetDllDirectory would be
        // process-wide and disturb other modules.
        private const uint LoadWithAlteredSearchPath = 0x00000008;

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr LoadLibraryExW(string fileName, IntPtr reserved, uint flags);

        private static void Register()
        {
            if (LoadLibraryExW(_resolvedPath, IntPtr.Zero, LoadWithAlteredSearchPath) == IntPtr.Zero)
            {
                int error = Marshal.GetLastWin32Error();
                throw new InvalidOperationException(
                    $"MailAccessForensics cannot load its native library '{_resolvedPath}' (Win32 error {error}).");
            }
        }
#else
        private static bool _resolverRegistered;

        // Registered once per process: Import-Module -Force runs the module initialiser again,
        // and a second registration for the same assembly throws.
        private static void Register()
        {
            if (_resolverRegistered)
            {
                return;
            }
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
            _resolverRegistered = true;
        }

        private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
        {
            return libraryName == "maf_native" ? NativeLibrary.Load(_resolvedPath) : IntPtr.Zero;
        }
#endif
    }
}
