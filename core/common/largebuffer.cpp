#include "common/largebuffer.h"

#include <algorithm>
#include <cstdint>

#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace Swamp {

namespace {

constexpr qsizetype hugeFrom = 4 * 1024 * 1024;

// Asks for huge pages under the pages [begin, end) touches; a no-op where there are none. The
// whole mapping of a large allocation (malloc maps it by itself, from a page boundary): a part
// would split it in two, and realloc() could then no longer move it with mremap() but copied it.
void adviseHugePages(char *begin, char *end)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    static const std::uintptr_t page = std::uintptr_t(sysconf(_SC_PAGESIZE));
    const std::uintptr_t from = std::uintptr_t(begin) & ~(page - 1);
    const std::uintptr_t to = (std::uintptr_t(end) + page - 1) & ~(page - 1);
    madvise(reinterpret_cast<void *>(from), to - from, MADV_HUGEPAGE); // a hint: its failure costs nothing
#else
    Q_UNUSED(begin);
    Q_UNUSED(end);
#endif
}

} // namespace

void reserveToAppend(QByteArray &buffer, qsizetype bytes)
{
    if (buffer.capacity() - buffer.size() >= bytes)
        return;
    const qsizetype capacity = std::max({buffer.size() + bytes, buffer.capacity() * 2, qsizetype(64 * 1024)});
    buffer.reserve(capacity);
    if (buffer.capacity() >= hugeFrom) {
        char *data = buffer.data();
        adviseHugePages(data, data + buffer.capacity());
    }
}

QByteArray ReusedBuffer::take()
{
    if (!m_buffer.isDetached()) { // still held elsewhere (or none): not to be written into
        m_buffer = QByteArray();
        return {};
    }
    QByteArray buffer = std::move(m_buffer);
    buffer.resize(0); // the capacity stays
    return buffer;
}

bool ReusedBuffer::keep(const QByteArray &written)
{
    if (written.capacity() >= m_smallest)
        m_buffer = written;
    return written.size() >= m_smallest;
}

} // namespace Swamp
