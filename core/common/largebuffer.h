#pragma once

#include <QByteArray>

namespace Swamp {

// Makes room for `bytes` more at the end of `buffer`, doubling its capacity when it grows. Past
// 4 MiB the room is backed by huge pages where the kernel offers them (Linux, MADV_HUGEPAGE):
// an answer of 40 MB touches 10,000 pages of 4 KiB otherwise, each a page fault, which took a
// fifth of the orchestrator's time writing it (issue 20). Only a hint: the buffer is an ordinary
// QByteArray either way.
void reserveToAppend(QByteArray &buffer, qsizetype bytes);

} // namespace Swamp
