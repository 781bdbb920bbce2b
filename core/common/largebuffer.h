#pragma once

#include <QByteArray>

namespace Swamp {

// Makes room for `bytes` more at the end of `buffer`, doubling its capacity when it grows. Past
// 4 MiB the room is backed by huge pages where the kernel offers them (Linux, MADV_HUGEPAGE):
// an answer of 40 MB touches 10,000 pages of 4 KiB otherwise, each a page fault, which took a
// fifth of the orchestrator's time writing it (issue 20). Only a hint: the buffer is an ordinary
// QByteArray either way.
void reserveToAppend(QByteArray &buffer, qsizetype bytes);

// One large buffer written into again and again (data.query's answers): its pages stay the
// process's, where a fresh answer of 20-45 MB has the kernel zero each page first (7 % of
// writing one, issue 20). Never written while anything else holds it: a socket still sending it
// keeps its bytes as they were.
class ReusedBuffer
{
public:
    // Only a buffer of `smallest` bytes of capacity or more is worth keeping.
    explicit ReusedBuffer(qsizetype smallest = 1024 * 1024)
        : m_smallest(smallest)
    {
    }
    // An empty array to write into: the one kept, with its capacity, when nothing else holds it
    // any more; a null one otherwise (the one kept then goes with its last holder).
    QByteArray take();
    // Keeps `written` (shared with what sends it) for the next take(), if its capacity is large;
    // returns whether its text is (a small text in a large buffer does not call for keeping it).
    bool keep(const QByteArray &written);
    // Lets go of what is kept (after a while without a large answer).
    void clear() { m_buffer = QByteArray(); }
    bool isEmpty() const { return m_buffer.isNull(); }

private:
    QByteArray m_buffer;
    qsizetype m_smallest;
};

} // namespace Swamp
