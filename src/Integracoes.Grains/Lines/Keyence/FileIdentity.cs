using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Integracoes.Grains.Lines.Keyence;

/// <summary>
/// Which file a path names right now, and its size: the inode, plus its birth time where the file system
/// records one. A gateway that replaces a file (rotation, rename over it, delete and recreate) gives a new
/// identity even when the kernel reuses the inode number, because the birth time differs; an append does
/// not change it. Read with statx(2) from libc: .NET has no public inode API, and statx's layout is the
/// same on every Linux architecture (unlike struct stat).
/// </summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode, long BirthNanoseconds, long Size)
{
    /// <summary>The generation text in a file key: inode and birth time in hex (birth 0 when the file system keeps none).</summary>
    public string Generation =>
        Inode.ToString("x", CultureInfo.InvariantCulture) + "-" + BirthNanoseconds.ToString("x", CultureInfo.InvariantCulture);

    public bool SameFileAs(FileIdentity other) =>
        Device == other.Device && Inode == other.Inode && BirthNanoseconds == other.BirthNanoseconds;

    /// <summary>The identity of the file <paramref name="path"/> names (symbolic links followed); null when it is missing.</summary>
    public static FileIdentity? Of(string path)
    {
        var bytes = new byte[256];
        if (Statx(AtFdCwd, path, 0, StatxBasicStats | StatxBtime, bytes) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is 2 or 20) return null; // ENOENT, ENOTDIR
            throw new IOException($"statx failed with errno {errno}", errno);
        }
        ReadOnlySpan<byte> buffer = bytes;
        var mask = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        var inode = BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]);
        var size = BinaryPrimitives.ReadInt64LittleEndian(buffer[40..]);
        long birth = 0;
        if ((mask & StatxBtime) != 0)
        {
            birth = BinaryPrimitives.ReadInt64LittleEndian(buffer[80..]) * 1_000_000_000L + BinaryPrimitives.ReadUInt32LittleEndian(buffer[88..]);
        }
        var device = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(buffer[136..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(buffer[140..]);
        return new FileIdentity(device, inode, birth, size);
    }

    private const int AtFdCwd = -100;
    private const uint StatxBasicStats = 0x7ff;
    private const uint StatxBtime = 0x800;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern int Statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, [Out] byte[] buffer);
}
