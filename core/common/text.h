#pragma once

#include <QString>
#include <QStringList>
#include <QStringView>

namespace Swamp {

// Text that came from the wire (a worker's hostname, an error a worker reported, a step's name)
// must not steer the terminal or forge log lines when it is printed. These are the characters
// that can: C0 controls (newline, carriage return, escape, tab, ...), DEL, C1 controls, and the
// Unicode direction overrides and isolates that reorder what a reader sees.
bool isUnsafeCharacter(char32_t c);
bool hasUnsafeCharacters(QStringView text);

// `text` with every unsafe character written as a visible escape: \n \r \t \e, \xHH for other
// controls below U+0100, \uHHHH above; a backslash stays a backslash. Safe text comes back
// unchanged (and without a copy when it is a QString).
QString printable(const QString &text);

// How long a text of the wire is, as docs/protocol.md counts every length limit: in characters,
// that is Unicode code points. A character outside the Basic Multilingual Plane (an emoji, say)
// is one, though a QString holds it as two UTF-16 code units; a lone surrogate counts as one.
qsizetype characterCount(QStringView text);
// The first `count` characters of `text` (code points, as characterCount()), never cutting a
// surrogate pair in two.
QString leftCharacters(const QString &text, qsizetype count);

// How many columns a terminal gives `text`: ANSI escape sequences (CSI, such as colours) none,
// combining marks none, East Asian wide and fullwidth characters (CJK, most emoji) two, every
// other character one. The table printer aligns by it.
qsizetype terminalColumns(QStringView text);

// The candidate closest to `word` by edit distance (a transposition counts as one edit; case is
// ignored), if close enough to be a likely typo: at most a third of the word. Empty if none is.
QString closestMatch(const QString &word, const QStringList &candidates);

} // namespace Swamp
