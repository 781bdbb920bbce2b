<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>DeploySnippets</name>
    <message>
        <source>Store the token as a repository secret first:</source>
        <translation>Legen Sie das Token zuerst als Repository-Secret ab:</translation>
    </message>
    <message>
        <source>SSH</source>
        <translation>SSH</translation>
    </message>
    <message>
        <source>Container</source>
        <translation>Container</translation>
    </message>
    <message>
        <source>Kubernetes Job</source>
        <translation>Kubernetes-Job</translation>
    </message>
    <message>
        <source>GitHub Actions</source>
        <translation>GitHub Actions</translation>
    </message>
    <message>
        <source>cloud-init</source>
        <translation>cloud-init</translation>
    </message>
    <message>
        <source>The machine that runs the worker, with swamp installed:</source>
        <translation>Der Rechner, auf dem der Worker läuft, mit installiertem swamp:</translation>
    </message>
    <message>
        <source>The image of deploy/docker/Dockerfile:</source>
        <translation>Das Image aus deploy/docker/Dockerfile:</translation>
    </message>
    <message>
        <source>The image of deploy/docker/Dockerfile, pushed where the cluster pulls swamp-worker:latest from</source>
        <translation>Das Image aus deploy/docker/Dockerfile, dorthin übertragen, woher der Cluster swamp-worker:latest bezieht</translation>
    </message>
    <message>
        <source>Steps of a job in a Debian 12 container (container: debian:bookworm):</source>
        <translation>Schritte eines Jobs in einem Debian-12-Container (container: debian:bookworm):</translation>
    </message>
    <message>
        <source>the package URL must be an http:// or https:// URL of swamp&apos;s .deb</source>
        <translation>die Paket-URL muss eine http://- oder https://-URL des .deb von swamp sein</translation>
    </message>
    <message>
        <source>the package URL must not hold quotes, spaces or &apos;#&apos;: percent-encode them</source>
        <translation>die Paket-URL darf keine Anführungszeichen, Leerzeichen oder &apos;#&apos; enthalten: kodieren Sie sie mit Prozentzeichen</translation>
    </message>
</context>
<context>
    <name>StatusPalette</name>
    <message>
        <source>idle</source>
        <translation>bereit</translation>
    </message>
    <message>
        <source>busy</source>
        <translation>ausgelastet</translation>
    </message>
    <message>
        <source>draining</source>
        <translation>läuft aus</translation>
    </message>
    <message>
        <source>disconnected</source>
        <translation>getrennt</translation>
    </message>
    <message>
        <source>lost</source>
        <translation>verloren</translation>
    </message>
    <message>
        <source>unused</source>
        <translation>unbenutzt</translation>
    </message>
    <message>
        <source>enrolled</source>
        <translation>registriert</translation>
    </message>
    <message>
        <source>expired</source>
        <translation>abgelaufen</translation>
    </message>
    <message>
        <source>revoked</source>
        <translation>widerrufen</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>wartend</translation>
    </message>
    <message>
        <source>dispatched</source>
        <translation>zugeteilt</translation>
    </message>
    <message>
        <source>running</source>
        <translation>läuft</translation>
    </message>
    <message>
        <source>succeeded</source>
        <translation>erfolgreich</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>abgebrochen</translation>
    </message>
    <message>
        <source>timed out</source>
        <translation>Zeit überschritten</translation>
    </message>
    <message>
        <source>active</source>
        <translation>aktiv</translation>
    </message>
    <message>
        <source>completed</source>
        <translation>abgeschlossen</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>pausiert</translation>
    </message>
</context>
<context>
    <name>Swamp</name>
    <message>
        <source>invalid duration &quot;%1&quot;</source>
        <translation>ungültige Dauer „%1“</translation>
    </message>
    <message>
        <source>use a number and a unit: 45s, 30m, 24h, 7d, 2w</source>
        <translation>geben Sie eine Zahl und eine Einheit an: 45s, 30m, 24h, 7d, 2w</translation>
    </message>
    <message>
        <source>%1s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1m</source>
        <translation>%1 min</translation>
    </message>
    <message>
        <source>%1h</source>
        <translation>%1 h</translation>
    </message>
    <message>
        <source>%1d</source>
        <translation>%1 d</translation>
    </message>
    <message>
        <source>just now</source>
        <translation>gerade eben</translation>
    </message>
    <message>
        <source>%1 ago</source>
        <translation>vor %1</translation>
    </message>
    <message>
        <source>in %1</source>
        <translation>in %1</translation>
    </message>
    <message>
        <source>write labels as key=value, for example --label region=eu</source>
        <translation>schreiben Sie Labels als Schlüssel=Wert, zum Beispiel --label region=eu</translation>
    </message>
    <message>
        <source>invalid label &quot;%1&quot;</source>
        <translation>ungültiges Label „%1“</translation>
    </message>
    <message>
        <source>invalid label key &quot;%1&quot;: keys start with a letter or digit and use letters, digits, &apos;.&apos;, &apos;_&apos;, &apos;/&apos; or &apos;-&apos; (at most 63)</source>
        <translation>ungültiger Label-Schlüssel „%1“: Schlüssel beginnen mit einem Buchstaben oder einer Ziffer und bestehen aus Buchstaben, Ziffern, &apos;.&apos;, &apos;_&apos;, &apos;/&apos; oder &apos;-&apos; (höchstens 63)</translation>
    </message>
    <message>
        <source>cannot write %1: %2</source>
        <translation>%1 kann nicht geschrieben werden: %2</translation>
    </message>
    <message>
        <source>check that the directory exists and is writable by this user</source>
        <translation>prüfen Sie, ob das Verzeichnis existiert und für diesen Benutzer beschreibbar ist</translation>
    </message>
    <message>
        <source>cannot create directory %1</source>
        <translation>Verzeichnis %1 kann nicht angelegt werden</translation>
    </message>
    <message>
        <source>check the parent directory&apos;s permissions or choose another path</source>
        <translation>prüfen Sie die Rechte des übergeordneten Verzeichnisses oder wählen Sie einen anderen Pfad</translation>
    </message>
    <message>
        <source>cannot read %1: %2</source>
        <translation>%1 kann nicht gelesen werden: %2</translation>
    </message>
    <message>
        <source>check that the file exists and is readable by this user</source>
        <translation>prüfen Sie, ob die Datei existiert und für diesen Benutzer lesbar ist</translation>
    </message>
    <message>
        <source>&lt;invalid url&gt;</source>
        <translation>&lt;ungültige URL&gt;</translation>
    </message>
    <message>
        <source>orchestrator URL must start with ws:// or wss://</source>
        <translation>die Orchestrator-URL muss mit ws:// oder wss:// beginnen</translation>
    </message>
    <message>
        <source>pass the URL that &apos;swamp serve&apos; printed, for example ws://orchestrator:9090</source>
        <translation>geben Sie die URL an, die &apos;swamp serve&apos; ausgegeben hat, zum Beispiel ws://orchestrator:9090</translation>
    </message>
    <message>
        <source>invalid listen address &quot;%1&quot;</source>
        <translation>ungültige Lauschadresse „%1“</translation>
    </message>
    <message>
        <source>use host:port, for example 127.0.0.1:9090 or 0.0.0.0:9090 (port 0 picks a free one)</source>
        <translation>verwenden Sie host:port, zum Beispiel 127.0.0.1:9090 oder 0.0.0.0:9090 (Port 0 wählt einen freien)</translation>
    </message>
    <message>
        <source>%1 is not a valid admin.json</source>
        <translation>%1 ist keine gültige admin.json</translation>
    </message>
    <message>
        <source>delete it and restart &apos;swamp serve&apos; to write a new one</source>
        <translation>löschen Sie sie und starten Sie &apos;swamp serve&apos; neu, um eine neue zu schreiben</translation>
    </message>
    <message>
        <source>invalid token name &quot;%1&quot;</source>
        <translation>ungültiger Token-Name „%1“</translation>
    </message>
    <message>
        <source>use 1 to 63 lowercase letters, digits and &apos;-&apos;, starting with a letter or digit</source>
        <translation>verwenden Sie 1 bis 63 Kleinbuchstaben, Ziffern und &apos;-&apos;, beginnend mit einem Buchstaben oder einer Ziffer</translation>
    </message>
    <message>
        <source>no orchestrator configured</source>
        <translation>kein Orchestrator konfiguriert</translation>
    </message>
    <message>
        <source>run &apos;swamp serve&apos; on this machine or pass --server and --admin-token</source>
        <translation>starten Sie &apos;swamp serve&apos; auf diesem Rechner oder geben Sie --server und --admin-token an</translation>
    </message>
    <message>
        <source>cannot reach the orchestrator at %1: %2</source>
        <translation>der Orchestrator unter %1 ist nicht erreichbar: %2</translation>
    </message>
    <message>
        <source>check that &apos;swamp serve&apos; runs and the URL is right</source>
        <translation>prüfen Sie, ob &apos;swamp serve&apos; läuft und die URL stimmt</translation>
    </message>
    <message>
        <source>the orchestrator at %1 did not answer within %2s</source>
        <translation>der Orchestrator unter %1 hat nicht innerhalb von %2 s geantwortet</translation>
    </message>
    <message>
        <source>check the orchestrator&apos;s log; retry</source>
        <translation>prüfen Sie das Protokoll des Orchestrators und versuchen Sie es erneut</translation>
    </message>
    <message>
        <source>unknown %1 &quot;%2&quot; in query predicate</source>
        <translation>%1 &quot;%2&quot; im Abfrageprädikat ist unbekannt</translation>
    </message>
    <message>
        <source>(did you mean &quot;%1&quot;?)</source>
        <translation>(meinten Sie &quot;%1&quot;?)</translation>
    </message>
    <message>
        <source>has() needs a map field, not %1</source>
        <translation>has() braucht ein Map-Feld, nicht %1</translation>
    </message>
    <message>
        <source>map keys must be strings, not %1</source>
        <translation>Map-Schlüssel müssen vom Typ string sein, nicht %1</translation>
    </message>
    <message>
        <source>no operator &apos;%1&apos; for %2</source>
        <translation>kein Operator &apos;%1&apos; für %2</translation>
    </message>
    <message>
        <source>operator &apos;%1&apos; needs bool operands, not %2</source>
        <translation>Operator &apos;%1&apos; braucht Operanden vom Typ bool, nicht %2</translation>
    </message>
    <message>
        <source>the condition of &apos;?:&apos; must be bool, not %1</source>
        <translation>die Bedingung von &apos;?:&apos; muss vom Typ bool sein, nicht %1</translation>
    </message>
    <message>
        <source>field</source>
        <translation>das Feld</translation>
    </message>
    <message>
        <source>records have %1; model fields are under attributes.</source>
        <translation>Datensätze haben %1; die Felder des Modells liegen unter attributes.</translation>
    </message>
    <message>
        <source>any model</source>
        <translation>allen Modellen</translation>
    </message>
    <message>
        <source>fields of %1: %2</source>
        <translation>Felder von %1: %2</translation>
    </message>
    <message>
        <source>no field &quot;%1&quot; on %2</source>
        <translation>%2 hat kein Feld &quot;%1&quot;</translation>
    </message>
    <message>
        <source>no operator &apos;[]&apos; for %1 and %2</source>
        <translation>kein Operator &apos;[]&apos; für %1 und %2</translation>
    </message>
    <message>
        <source>no operator &apos;in&apos; for %1 and %2</source>
        <translation>kein Operator &apos;in&apos; für %1 und %2</translation>
    </message>
    <message>
        <source>no operator &apos;%1&apos; for %2 and %3</source>
        <translation>kein Operator &apos;%1&apos; für %2 und %3</translation>
    </message>
    <message>
        <source>model type</source>
        <translation>der Modelltyp</translation>
    </message>
    <message>
        <source>model types: %1</source>
        <translation>Modelltypen: %1</translation>
    </message>
    <message>
        <source>method</source>
        <translation>die Methode</translation>
    </message>
    <message>
        <source>function</source>
        <translation>die Funktion</translation>
    </message>
    <message>
        <source>functions: %1</source>
        <translation>Funktionen: %1</translation>
    </message>
    <message>
        <source>no overload of %1</source>
        <translation>keine passende Überladung für %1</translation>
    </message>
    <message>
        <source>%1() needs a list or a map, not %2</source>
        <translation>%1() braucht eine Liste oder eine Map, nicht %2</translation>
    </message>
    <message>
        <source>the condition of %1() must be bool, not %2</source>
        <translation>die Bedingung von %1() muss vom Typ bool sein, nicht %2</translation>
    </message>
    <message>
        <source>query predicate needs more than %1 evaluation steps for one record</source>
        <translation>das Abfrageprädikat braucht für einen Datensatz mehr als %1 Auswertungsschritte</translation>
    </message>
    <message>
        <source>simplify the predicate or nest fewer list macros</source>
        <translation>vereinfachen Sie das Prädikat oder verschachteln Sie weniger Listen-Makros</translation>
    </message>
    <message>
        <source>the record has no field &quot;%1&quot;</source>
        <translation>der Datensatz hat kein Feld &quot;%1&quot;</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 im Feld %2</translation>
    </message>
    <message>
        <source>internal error: unresolved name &quot;%1&quot;</source>
        <translation>interner Fehler: nicht aufgelöster Name &quot;%1&quot;</translation>
    </message>
    <message>
        <source>no such key &quot;%1&quot; in %2</source>
        <translation>kein Schlüssel &quot;%1&quot; in %2</translation>
    </message>
    <message>
        <source>guard it with has(%1)</source>
        <translation>prüfen Sie das vorher mit has(%1)</translation>
    </message>
    <message>
        <source>guard it with &quot;%1&quot; in %2</source>
        <translation>prüfen Sie das vorher mit &quot;%1&quot; in %2</translation>
    </message>
    <message>
        <source>%1 in %2.%3</source>
        <translation>%1 in %2.%3</translation>
    </message>
    <message>
        <source>cannot read &quot;%1&quot; of null (%2 is null)</source>
        <translation>&quot;%1&quot; kann nicht aus null gelesen werden (%2 ist null)</translation>
    </message>
    <message>
        <source>test %1 != null first</source>
        <translation>prüfen Sie zuerst %1 != null</translation>
    </message>
    <message>
        <source>index %1 out of range for a list of %2</source>
        <translation>Index %1 liegt außerhalb einer Liste mit %2 Elementen</translation>
    </message>
    <message>
        <source>has() needs a map, not %1 (%2)</source>
        <translation>has() braucht eine Map, nicht %1 (%2)</translation>
    </message>
    <message>
        <source>duplicate map key &quot;%1&quot;</source>
        <translation>doppelter Map-Schlüssel &quot;%1&quot;</translation>
    </message>
    <message>
        <source>integer overflow in %1</source>
        <translation>Ganzzahlüberlauf in %1</translation>
    </message>
    <message>
        <source>integers are 64-bit: -9223372036854775808 to 9223372036854775807</source>
        <translation>Ganzzahlen haben 64 Bit: -9223372036854775808 bis 9223372036854775807</translation>
    </message>
    <message>
        <source>division by zero in %1</source>
        <translation>Division durch null in %1</translation>
    </message>
    <message>
        <source>timestamp out of range in %1</source>
        <translation>Zeitstempel außerhalb des gültigen Bereichs in %1</translation>
    </message>
    <message>
        <source>duration out of range in %1</source>
        <translation>Dauer außerhalb des gültigen Bereichs in %1</translation>
    </message>
    <message>
        <source>%1 on %2</source>
        <translation>%1 auf %2</translation>
    </message>
    <message>
        <source>invalid regular expression &quot;%1&quot;: %2 at offset %3</source>
        <translation>ungültiger regulärer Ausdruck &quot;%1&quot;: %2 an Position %3</translation>
    </message>
    <message>
        <source>matches() takes an RE2-style pattern, e.g. &quot;^ci-[0-9]+$&quot;</source>
        <translation>matches() erwartet ein Muster in RE2-Syntax, z. B. &quot;^ci-[0-9]+$&quot;</translation>
    </message>
    <message>
        <source>int(%1) is out of range</source>
        <translation>int(%1) liegt außerhalb des Wertebereichs</translation>
    </message>
    <message>
        <source>cannot convert &quot;%1&quot; to int</source>
        <translation>&quot;%1&quot; kann nicht in int umgewandelt werden</translation>
    </message>
    <message>
        <source>cannot convert &quot;%1&quot; to double</source>
        <translation>&quot;%1&quot; kann nicht in double umgewandelt werden</translation>
    </message>
    <message>
        <source>cannot convert &quot;%1&quot; to bool</source>
        <translation>&quot;%1&quot; kann nicht in bool umgewandelt werden</translation>
    </message>
    <message>
        <source>timestamp(%1) is out of range</source>
        <translation>timestamp(%1) liegt außerhalb des Wertebereichs</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a valid timestamp</source>
        <translation>&quot;%1&quot; ist kein gültiger Zeitstempel</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not a valid duration</source>
        <translation>&quot;%1&quot; ist keine gültige Dauer</translation>
    </message>
    <message>
        <source>internal error: no implementation of %1()</source>
        <translation>interner Fehler: keine Implementierung für %1()</translation>
    </message>
    <message>
        <source>syntax error in query predicate: %1</source>
        <translation>Syntaxfehler im Abfrageprädikat: %1</translation>
    </message>
    <message>
        <source>bytes literals are not supported</source>
        <translation>Bytes-Literale werden nicht unterstützt</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is a reserved word</source>
        <translation>&quot;%1&quot; ist ein reserviertes Wort</translation>
    </message>
    <message>
        <source>&quot;=&quot; is not an operator (did you mean &quot;==&quot;?)</source>
        <translation>&quot;=&quot; ist kein Operator (meinten Sie &quot;==&quot;?)</translation>
    </message>
    <message>
        <source>&quot;&amp;&quot; is not an operator (did you mean &quot;&amp;&amp;&quot;?)</source>
        <translation>&quot;&amp;&quot; ist kein Operator (meinten Sie &quot;&amp;&amp;&quot;?)</translation>
    </message>
    <message>
        <source>&quot;|&quot; is not an operator (did you mean &quot;||&quot;?)</source>
        <translation>&quot;|&quot; ist kein Operator (meinten Sie &quot;||&quot;?)</translation>
    </message>
    <message>
        <source>unexpected character &quot;%1&quot;</source>
        <translation>unerwartetes Zeichen &quot;%1&quot;</translation>
    </message>
    <message>
        <source>hexadecimal literal without digits</source>
        <translation>Hexadezimal-Literal ohne Ziffern</translation>
    </message>
    <message>
        <source>unexpected &quot;%1&quot; after a number</source>
        <translation>unerwartetes &quot;%1&quot; nach einer Zahl</translation>
    </message>
    <message>
        <source>number %1 is out of range</source>
        <translation>die Zahl %1 liegt außerhalb des Wertebereichs</translation>
    </message>
    <message>
        <source>unsigned integers are not supported</source>
        <translation>vorzeichenlose Ganzzahlen werden nicht unterstützt</translation>
    </message>
    <message>
        <source>drop the &quot;u&quot; suffix</source>
        <translation>entfernen Sie das Suffix &quot;u&quot;</translation>
    </message>
    <message>
        <source>integer %1 is out of range</source>
        <translation>die Ganzzahl %1 liegt außerhalb des Wertebereichs</translation>
    </message>
    <message>
        <source>unterminated string</source>
        <translation>nicht abgeschlossene Zeichenkette</translation>
    </message>
    <message>
        <source>close the string with %1</source>
        <translation>schließen Sie die Zeichenkette mit %1</translation>
    </message>
    <message>
        <source>close the string with %1 before the end of the line</source>
        <translation>schließen Sie die Zeichenkette vor dem Zeilenende mit %1</translation>
    </message>
    <message>
        <source>invalid escape sequence &quot;%1&quot;</source>
        <translation>ungültige Escape-Sequenz &quot;%1&quot;</translation>
    </message>
    <message>
        <source>use \n \t \\ \&quot; \&apos; or \uXXXX, or a raw string r&quot;...&quot;</source>
        <translation>verwenden Sie \n \t \\ \&quot; \&apos; oder \uXXXX oder eine Raw-Zeichenkette r&quot;...&quot;</translation>
    </message>
    <message>
        <source>\u needs 4 hex digits, \U 8 and \x 2</source>
        <translation>\u braucht 4 Hex-Ziffern, \U 8 und \x 2</translation>
    </message>
    <message>
        <source>invalid code point in &quot;%1&quot;</source>
        <translation>ungültiger Codepoint in &quot;%1&quot;</translation>
    </message>
    <message>
        <source>end of predicate</source>
        <translation>das Ende des Prädikats</translation>
    </message>
    <message>
        <source>string</source>
        <translation>eine Zeichenkette</translation>
    </message>
    <message>
        <source>number</source>
        <translation>eine Zahl</translation>
    </message>
    <message>
        <source>an operator or the end of the predicate</source>
        <translation>ein Operator oder das Ende des Prädikats</translation>
    </message>
    <message>
        <source>syntax error in query predicate: unexpected %1 (expected %2)</source>
        <translation>Syntaxfehler im Abfrageprädikat: %1 ist hier unerwartet (erwartet wird %2)</translation>
    </message>
    <message>
        <source>query predicate is nested deeper than %1 levels</source>
        <translation>das Abfrageprädikat ist tiefer als %1 Ebenen verschachtelt</translation>
    </message>
    <message>
        <source>split the predicate into simpler parts</source>
        <translation>teilen Sie das Prädikat in einfachere Teile auf</translation>
    </message>
    <message>
        <source>a field or method name</source>
        <translation>ein Feld- oder Methodenname</translation>
    </message>
    <message>
        <source>syntax error in query predicate: has() takes one field selection</source>
        <translation>Syntaxfehler im Abfrageprädikat: has() erwartet genau eine Feldauswahl</translation>
    </message>
    <message>
        <source>write has(attributes.field) or has(attributes.labels.key)</source>
        <translation>schreiben Sie has(attributes.field) oder has(attributes.labels.key)</translation>
    </message>
    <message>
        <source>syntax error in query predicate: %1() takes a variable name and %2</source>
        <translation>Syntaxfehler im Abfrageprädikat: %1() erwartet einen Variablennamen und %2</translation>
    </message>
    <message>
        <source>a transform (and optionally a condition first)</source>
        <translation>eine Transformation (und optional davor eine Bedingung)</translation>
    </message>
    <message>
        <source>a condition</source>
        <translation>eine Bedingung</translation>
    </message>
    <message>
        <source>write %1(x, &lt;expression using x&gt;)</source>
        <translation>schreiben Sie %1(x, &lt;Ausdruck mit x&gt;)</translation>
    </message>
    <message>
        <source>syntax error in query predicate: %1() needs a variable name first</source>
        <translation>Syntaxfehler im Abfrageprädikat: %1() braucht zuerst einen Variablennamen</translation>
    </message>
    <message>
        <source>syntax error in query predicate: integer %1 is out of range</source>
        <translation>Syntaxfehler im Abfrageprädikat: die Ganzzahl %1 liegt außerhalb des Wertebereichs</translation>
    </message>
    <message>
        <source>an expression</source>
        <translation>ein Ausdruck</translation>
    </message>
    <message>
        <source>query predicate is %1 characters long, over the limit of %2</source>
        <translation>das Abfrageprädikat ist %1 Zeichen lang und überschreitet die Grenze von %2</translation>
    </message>
    <message>
        <source>shorten the predicate</source>
        <translation>kürzen Sie das Prädikat</translation>
    </message>
    <message>
        <source>query predicate is empty</source>
        <translation>das Abfrageprädikat ist leer</translation>
    </message>
    <message>
        <source>for example: modelType == &quot;swamp/worker&quot;</source>
        <translation>zum Beispiel: modelType == &quot;swamp/worker&quot;</translation>
    </message>
    <message>
        <source>query predicate evaluates to %1, not bool</source>
        <translation>das Abfrageprädikat ergibt %1, nicht bool</translation>
    </message>
    <message>
        <source>compare it with something, e.g. attributes.status == &quot;idle&quot;</source>
        <translation>vergleichen Sie es mit etwas, z. B. attributes.status == &quot;idle&quot;</translation>
    </message>
    <message>
        <source>NAME</source>
        <translation>NAME</translation>
    </message>
    <message>
        <source>MODEL TYPE</source>
        <translation>MODELLTYP</translation>
    </message>
    <message>
        <source>STATE</source>
        <translation>ZUSTAND</translation>
    </message>
    <message>
        <source>DETAILS</source>
        <translation>DETAILS</translation>
    </message>
    <message>
        <source>pass --ca-cert (or SWAMP_CA_CERT) with the PEM file of the CA that signed the orchestrator&apos;s certificate</source>
        <translation>übergeben Sie mit --ca-cert (oder SWAMP_CA_CERT) die PEM-Datei der CA, die das Zertifikat des Orchestrators signiert hat</translation>
    </message>
    <message>
        <source>the CA certificate file %1 holds no PEM certificate (-----BEGIN CERTIFICATE-----)</source>
        <translation>die CA-Zertifikatsdatei %1 enthält kein PEM-Zertifikat (-----BEGIN CERTIFICATE-----)</translation>
    </message>
    <message>
        <source>--tls-cert and --tls-key go together</source>
        <translation>--tls-cert und --tls-key gehören zusammen</translation>
    </message>
    <message>
        <source>pass both the certificate chain and its private key (PEM)</source>
        <translation>übergeben Sie die Zertifikatskette und ihren privaten Schlüssel (PEM)</translation>
    </message>
    <message>
        <source>pass --tls-cert with the server&apos;s certificate chain in PEM, readable by this user</source>
        <translation>übergeben Sie mit --tls-cert die Zertifikatskette des Servers als PEM, lesbar für diesen Benutzer</translation>
    </message>
    <message>
        <source>pass --tls-key with the certificate&apos;s private key in PEM, readable by this user</source>
        <translation>übergeben Sie mit --tls-key den privaten Schlüssel des Zertifikats als PEM, lesbar für diesen Benutzer</translation>
    </message>
    <message>
        <source>the TLS certificate %1 holds no PEM certificate (-----BEGIN CERTIFICATE-----)</source>
        <translation>das TLS-Zertifikat %1 enthält kein PEM-Zertifikat (-----BEGIN CERTIFICATE-----)</translation>
    </message>
    <message>
        <source>the TLS private key %1 is encrypted</source>
        <translation>der private TLS-Schlüssel %1 ist verschlüsselt</translation>
    </message>
    <message>
        <source>decrypt it with &apos;openssl pkey -in %1 -out key.pem&apos; and pass that file (mode 0600)</source>
        <translation>entschlüsseln Sie ihn mit &apos;openssl pkey -in %1 -out key.pem&apos; und übergeben Sie diese Datei (Modus 0600)</translation>
    </message>
    <message>
        <source>the TLS private key %1 holds no PEM private key (-----BEGIN PRIVATE KEY-----)</source>
        <translation>der private TLS-Schlüssel %1 enthält keinen privaten PEM-Schlüssel (-----BEGIN PRIVATE KEY-----)</translation>
    </message>
    <message>
        <source>the TLS private key %1 does not belong to the certificate %2</source>
        <translation>der private TLS-Schlüssel %1 gehört nicht zum Zertifikat %2</translation>
    </message>
    <message>
        <source>pass the key the certificate was issued for (compare &apos;openssl x509 -noout -pubkey -in %1&apos; with &apos;openssl pkey -pubout -in %2&apos;)</source>
        <translation>übergeben Sie den Schlüssel, für den das Zertifikat ausgestellt wurde (vergleichen Sie &apos;openssl x509 -noout -pubkey -in %1&apos; mit &apos;openssl pkey -pubout -in %2&apos;)</translation>
    </message>
    <message>
        <source>the TLS private key %1 is of a type swamp cannot serve with</source>
        <translation>der private TLS-Schlüssel %1 hat einen Typ, mit dem swamp nicht dienen kann</translation>
    </message>
    <message>
        <source>issue the certificate for an RSA or ECDSA key (for example &apos;openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256&apos;)</source>
        <translation>stellen Sie das Zertifikat für einen RSA- oder ECDSA-Schlüssel aus (zum Beispiel &apos;openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256&apos;)</translation>
    </message>
    <message>
        <source>the TLS certificate %1 expired on %2: workers and admin clients will refuse it — renew it and restart &apos;swamp serve&apos;</source>
        <translation>das TLS-Zertifikat %1 ist am %2 abgelaufen: Worker und Admin-Clients werden es ablehnen — erneuern Sie es und starten Sie &apos;swamp serve&apos; neu</translation>
    </message>
    <message>
        <source>the TLS certificate %1 is not valid before %2: clients will refuse it until then — check this machine&apos;s clock</source>
        <translation>das TLS-Zertifikat %1 ist erst ab %2 gültig: Clients lehnen es bis dahin ab — prüfen Sie die Uhr dieses Rechners</translation>
    </message>
    <message>
        <source>(no subject)</source>
        <translation>(kein Subject)</translation>
    </message>
    <message>
        <source>pass --ca-cert (or SWAMP_CA_CERT) with that CA&apos;s PEM file</source>
        <translation>übergeben Sie mit --ca-cert (oder SWAMP_CA_CERT) die PEM-Datei dieser CA</translation>
    </message>
    <message>
        <source>the orchestrator&apos;s certificate is signed by %1, which is not trusted</source>
        <translation>das Zertifikat des Orchestrators ist von %1 signiert; dieser Aussteller ist nicht vertrauenswürdig</translation>
    </message>
    <message>
        <source>an unknown CA</source>
        <translation>einer unbekannten CA</translation>
    </message>
    <message>
        <source>the orchestrator&apos;s certificate %1 is self-signed and not trusted</source>
        <translation>das Zertifikat %1 des Orchestrators ist selbstsigniert und nicht vertrauenswürdig</translation>
    </message>
    <message>
        <source>pass --ca-cert (or SWAMP_CA_CERT) with that certificate&apos;s PEM file, or serve a certificate signed by a CA</source>
        <translation>übergeben Sie mit --ca-cert (oder SWAMP_CA_CERT) die PEM-Datei dieses Zertifikats, oder verwenden Sie ein von einer CA signiertes Zertifikat</translation>
    </message>
    <message>
        <source>the orchestrator&apos;s certificate %1 expired on %2</source>
        <translation>das Zertifikat %1 des Orchestrators ist am %2 abgelaufen</translation>
    </message>
    <message>
        <source>renew it and restart &apos;swamp serve&apos; with the new --tls-cert (and check this machine&apos;s clock: it is %1)</source>
        <translation>erneuern Sie es und starten Sie &apos;swamp serve&apos; mit dem neuen --tls-cert neu (und prüfen Sie die Uhr dieses Rechners: sie zeigt %1)</translation>
    </message>
    <message>
        <source>the orchestrator&apos;s certificate %1 is not valid before %2</source>
        <translation>das Zertifikat %1 des Orchestrators ist erst ab %2 gültig</translation>
    </message>
    <message>
        <source>check this machine&apos;s clock (it is %1), or wait</source>
        <translation>prüfen Sie die Uhr dieses Rechners (sie zeigt %1), oder warten Sie</translation>
    </message>
    <message>
        <source>it lists none</source>
        <translation>es nennt keine</translation>
    </message>
    <message>
        <source>common name: %1</source>
        <translation>Common Name: %1</translation>
    </message>
    <message>
        <source>subject alternative names: %1</source>
        <translation>alternative Namen (SAN): %1</translation>
    </message>
    <message>
        <source>the orchestrator&apos;s certificate is for %1, not %2</source>
        <translation>das Zertifikat des Orchestrators gilt für %1, nicht für %2</translation>
    </message>
    <message>
        <source>no name</source>
        <translation>keinen Namen</translation>
    </message>
    <message>
        <source>connect with a name the certificate lists (%1), or reissue it with subjectAltName %2</source>
        <translation>verbinden Sie sich mit einem Namen, den das Zertifikat nennt (%1), oder stellen Sie es mit subjectAltName %2 neu aus</translation>
    </message>
    <message>
        <source>the orchestrator&apos;s certificate %1 was refused: %2</source>
        <translation>das Zertifikat %1 des Orchestrators wurde abgelehnt: %2</translation>
    </message>
    <message>
        <source>serve a valid certificate signed by a CA the clients trust</source>
        <translation>verwenden Sie ein gültiges Zertifikat einer CA, der die Clients vertrauen</translation>
    </message>
    <message>
        <source>unknown certificate problem</source>
        <translation>unbekanntes Zertifikatsproblem</translation>
    </message>
    <message>
        <source>the TLS handshake with the orchestrator failed: %1</source>
        <translation>der TLS-Handshake mit dem Orchestrator ist fehlgeschlagen: %1</translation>
    </message>
    <message>
        <source>check that the orchestrator serves wss:// on that port (started with --tls-cert and --tls-key); if it serves ws://, use a ws:// URL</source>
        <translation>prüfen Sie, ob der Orchestrator auf diesem Port wss:// anbietet (gestartet mit --tls-cert und --tls-key); bietet er ws:// an, verwenden Sie eine ws://-URL</translation>
    </message>
    <message>
        <source>%1 during the WebSocket handshake</source>
        <translation>%1 während des WebSocket-Handshakes</translation>
    </message>
    <message>
        <source>if the orchestrator serves wss:// (started with --tls-cert), use a wss:// URL (and --ca-cert for a private CA)</source>
        <translation>bietet der Orchestrator wss:// an (gestartet mit --tls-cert), verwenden Sie eine wss://-URL (und --ca-cert für eine private CA)</translation>
    </message>
    <message>
        <source>cannot read the CA certificate file %1: %2</source>
        <translation>die CA-Zertifikatsdatei %1 kann nicht gelesen werden: %2</translation>
    </message>
    <message>
        <source>cannot read the TLS certificate %1: %2</source>
        <translation>das TLS-Zertifikat %1 kann nicht gelesen werden: %2</translation>
    </message>
    <message>
        <source>cannot read the TLS private key %1: %2</source>
        <translation>der private TLS-Schlüssel %1 kann nicht gelesen werden: %2</translation>
    </message>
    <message>
        <source>invalid value for label &quot;%1&quot;: at most 255 characters, no &apos;,&apos; or &apos;=&apos; and no control characters</source>
        <translation>ungültiger Wert für Label „%1“: höchstens 255 Zeichen, kein &apos;,&apos; oder &apos;=&apos; und keine Steuerzeichen</translation>
    </message>
    <message>
        <source>labels must be an object of string values</source>
        <translation>Labels müssen ein Objekt mit Zeichenketten-Werten sein</translation>
    </message>
    <message>
        <source>send labels as {&quot;key&quot;: &quot;value&quot;, ...}</source>
        <translation>senden Sie Labels als {&quot;key&quot;: &quot;value&quot;, ...}</translation>
    </message>
    <message>
        <source>at most %1 labels</source>
        <translation>höchstens %1 Labels</translation>
    </message>
    <message>
        <source>drop some labels</source>
        <translation>lassen Sie einige Labels weg</translation>
    </message>
    <message>
        <source>the value of label &quot;%1&quot; must be a string</source>
        <translation>der Wert von Label „%1“ muss eine Zeichenkette sein</translation>
    </message>
    <message>
        <source>data dir %1 is in use by swamp serve (pid %2)</source>
        <translation>das Datenverzeichnis %1 wird von swamp serve (PID %2) verwendet</translation>
    </message>
    <message>
        <source>stop that orchestrator first, or give this one its own --data-dir</source>
        <translation>beenden Sie zuerst jenen Orchestrator oder geben Sie diesem ein eigenes --data-dir</translation>
    </message>
    <message>
        <source>invalid worker name &quot;%1&quot;</source>
        <translation>ungültiger Worker-Name „%1“</translation>
    </message>
    <message>
        <source>use a number and a unit: 45s, 30m, 24h, 7d, 2w (from 1s to 365d)</source>
        <translation>geben Sie eine Zahl und eine Einheit an: 45s, 30m, 24h, 7d, 2w (von 1s bis 365d)</translation>
    </message>
    <message>
        <source>a token must live longer than 0</source>
        <translation>ein Token muss länger als 0 gelten</translation>
    </message>
    <message>
        <source>a token&apos;s lifetime cannot be negative</source>
        <translation>die Gültigkeitsdauer eines Tokens kann nicht negativ sein</translation>
    </message>
    <message>
        <source>a token lives at most 365d</source>
        <translation>ein Token gilt höchstens 365d</translation>
    </message>
    <message>
        <source>workers enrolled with it stop at %1 (%2)</source>
        <translation>damit registrierte Worker hören am %1 (%2) auf</translation>
    </message>
    <message numerus="yes">
        <source>token &apos;%1&apos; expires %2 (%3): its %n connected worker(s) stop then — extend it with &apos;swamp worker token extend %1 --duration 30d&apos;</source>
        <translation>
            <numerusform>Token &apos;%1&apos; läuft %2 ab (%3): sein %n verbundener Worker hört dann auf — verlängern Sie es mit &apos;swamp worker token extend %1 --duration 30d&apos;</numerusform>
            <numerusform>Token &apos;%1&apos; läuft %2 ab (%3): seine %n verbundenen Worker hören dann auf — verlängern Sie es mit &apos;swamp worker token extend %1 --duration 30d&apos;</numerusform>
        </translation>
    </message>
    <message>
        <source>--reason: at most %1 characters</source>
        <translation>--reason: höchstens %1 Zeichen</translation>
    </message>
    <message>
        <source>shorten it: the reason is kept in the audit trail, details belong in a ticket</source>
        <translation>kürzen Sie ihn: der Grund wird im Audit-Protokoll aufbewahrt, Einzelheiten gehören in ein Ticket</translation>
    </message>
    <message>
        <source>ID</source>
        <translation>ID</translation>
    </message>
    <message>
        <source>a value of type %1 that a record cannot hold</source>
        <translation>ein Wert vom Typ %1, den ein Datensatz nicht enthalten kann</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::ActionDialog</name>
    <message>
        <source>optional, recorded in the audit trail</source>
        <translation>optional, wird im Audit-Protokoll festgehalten</translation>
    </message>
    <message>
        <source>R&amp;eason:</source>
        <translation>&amp;Grund:</translation>
    </message>
    <message>
        <source>This orchestrator does not offer this action (it runs an older swamp): %1</source>
        <translation>Dieser Orchestrator bietet diese Aktion nicht an (er läuft mit einem älteren swamp): %1</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::AdminSession</name>
    <message>
        <source>not connected to the orchestrator</source>
        <translation>nicht mit dem Orchestrator verbunden</translation>
    </message>
    <message>
        <source>wait for the connection to come back, or use Connection ▸ Reconnect now</source>
        <translation>warten Sie, bis die Verbindung wieder steht, oder wählen Sie Verbindung ▸ Jetzt neu verbinden</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::AuditModel</name>
    <message>
        <source>token %1</source>
        <translation>Token %1</translation>
    </message>
    <message>
        <source>worker %1</source>
        <translation>Worker %1</translation>
    </message>
    <message>
        <source>worker %1 (token %2)</source>
        <translation>Worker %1 (Token %2)</translation>
    </message>
    <message>
        <source>admin key %1</source>
        <translation>Admin-Schlüssel %1</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>Aktion</translation>
    </message>
    <message>
        <source>About</source>
        <translation>Betrifft</translation>
    </message>
    <message>
        <source>Client</source>
        <translation>Client</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Adresse</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Grund</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::AuditTab</name>
    <message>
        <source>Filter by action, token, worker, client, address, reason…</source>
        <translation>Nach Aktion, Token, Worker, Client, Adresse, Grund filtern…</translation>
    </message>
    <message>
        <source>All actions</source>
        <translation>Alle Aktionen</translation>
    </message>
    <message>
        <source>Could not read the audit trail: %1</source>
        <translation>Das Audit-Protokoll konnte nicht gelesen werden: %1</translation>
    </message>
    <message>
        <source>No audited action yet. Creating, extending or revoking a token and pausing, resuming, relabelling, removing or pruning a worker each write an entry here.</source>
        <translation>Noch keine protokollierte Aktion. Ein Token erstellen, verlängern oder widerrufen und einen Worker pausieren, fortsetzen, umbenennen, entfernen oder aufräumen schreibt je einen Eintrag hierher.</translation>
    </message>
    <message numerus="yes">
        <source>%n audit entry(s)</source>
        <translation>
            <numerusform>%n Audit-Eintrag</numerusform>
            <numerusform>%n Audit-Einträge</numerusform>
        </translation>
    </message>
    <message>
        <source>(%1 shown)</source>
        <translation>(%1 angezeigt)</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::ConnectionBanner</name>
    <message>
        <source>&amp;Reconnect</source>
        <translation>&amp;Neu verbinden</translation>
    </message>
    <message>
        <source>Connect &amp;to…</source>
        <translation>&amp;Verbinden mit…</translation>
    </message>
    <message>
        <source>Try to reach the orchestrator again now</source>
        <translation>Jetzt erneut versuchen, den Orchestrator zu erreichen</translation>
    </message>
    <message>
        <source>Connect to another orchestrator</source>
        <translation>Mit einem anderen Orchestrator verbinden</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::ConnectionDialog</name>
    <message>
        <source>Connect to an orchestrator</source>
        <translation>Mit einem Orchestrator verbinden</translation>
    </message>
    <message>
        <source>wss://orchestrator.example.com:9090</source>
        <translation>wss://orchestrator.example.com:9090</translation>
    </message>
    <message>
        <source>a file holding the admin token</source>
        <translation>eine Datei, die das Admin-Token enthält</translation>
    </message>
    <message>
        <source>optional: PEM file of the CA that signed the orchestrator&apos;s certificate</source>
        <translation>optional: PEM-Datei der CA, die das Zertifikat des Orchestrators signiert hat</translation>
    </message>
    <message>
        <source>&amp;Connect</source>
        <translation>&amp;Verbinden</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Durchsuchen…</translation>
    </message>
    <message>
        <source>Orchestrator &amp;URL:</source>
        <translation>Orchestrator-&amp;URL:</translation>
    </message>
    <message>
        <source>Admin &amp;token file:</source>
        <translation>Admin-&amp;Token-Datei:</translation>
    </message>
    <message>
        <source>C&amp;A certificate:</source>
        <translation>C&amp;A-Zertifikat:</translation>
    </message>
    <message>
        <source>On the orchestrator&apos;s machine the admin token is in admin.json in its data directory. The console remembers the file&apos;s path, never the token.</source>
        <translation>Auf dem Rechner des Orchestrators steht das Admin-Token in admin.json in seinem Datenverzeichnis. Die Konsole merkt sich den Pfad der Datei, niemals das Token.</translation>
    </message>
    <message>
        <source>Admin token file</source>
        <translation>Admin-Token-Datei</translation>
    </message>
    <message>
        <source>CA certificate</source>
        <translation>CA-Zertifikat</translation>
    </message>
    <message>
        <source>PEM certificates (*.pem *.crt);;All files (*)</source>
        <translation>PEM-Zertifikate (*.pem *.crt);;Alle Dateien (*)</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::DrainWorkerDialog</name>
    <message>
        <source>Drain worker %1</source>
        <translation>Worker %1 auslaufen lassen</translation>
    </message>
    <message numerus="yes">
        <source>Drain worker &apos;%1&apos;? It finishes its %n running step(s), takes no new ones, and then exits.</source>
        <translation>
            <numerusform>Worker &apos;%1&apos; auslaufen lassen? Er beendet seinen %n laufenden Schritt, nimmt keine neuen an und beendet sich dann.</numerusform>
            <numerusform>Worker &apos;%1&apos; auslaufen lassen? Er beendet seine %n laufenden Schritte, nimmt keine neuen an und beendet sich dann.</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Drain</source>
        <translation>&amp;Auslaufen lassen</translation>
    </message>
    <message>
        <source>Dead&amp;line:</source>
        <translation>&amp;Frist:</translation>
    </message>
    <message>
        <source>Steps still running when the deadline has passed are cancelled on the worker and go back to the queue; the worker then exits</source>
        <translation>Schritte, die nach Ablauf der Frist noch laufen, werden auf dem Worker abgebrochen und kommen zurück in die Warteschlange; dann beendet sich der Worker</translation>
    </message>
    <message>
        <source>45s, 30m, 24h</source>
        <translation>45s, 30m, 24h</translation>
    </message>
    <message>
        <source>Without a deadline the worker waits for its steps however long they take. With one, steps still running then go back to the queue.</source>
        <translation>Ohne Frist wartet der Worker auf seine Schritte, egal wie lange sie dauern. Mit Frist kommen Schritte, die dann noch laufen, zurück in die Warteschlange.</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::EmptyState</name>
    <message>
        <source>Nothing to show: the console is not connected to the orchestrator.</source>
        <translation>Nichts anzuzeigen: Die Konsole ist nicht mit dem Orchestrator verbunden.</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::EventModel</name>
    <message>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>Betreff</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>Meldung</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::EventsTab</name>
    <message>
        <source>Filter events by worker, token, message…</source>
        <translation>Ereignisse nach Worker, Token, Meldung filtern…</translation>
    </message>
    <message>
        <source>All kinds</source>
        <translation>Alle Arten</translation>
    </message>
    <message numerus="yes">
        <source>%n event(s)</source>
        <translation>
            <numerusform>%n Ereignis</numerusform>
            <numerusform>%n Ereignisse</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 of %n event(s)</source>
        <translation>
            <numerusform>%1 von %n Ereignis</numerusform>
            <numerusform>%1 von %n Ereignissen</numerusform>
        </translation>
    </message>
    <message>
        <source>No events yet. Workers enrolling and leaving, steps finishing and tokens changing are logged here as they happen.</source>
        <translation>Noch keine Ereignisse. Hier erscheint, sobald es geschieht, wenn sich Worker registrieren oder gehen, Schritte enden und Tokens sich ändern.</translation>
    </message>
    <message>
        <source>No events match the filter or the kind.</source>
        <translation>Kein Ereignis passt zum Filter oder zur Art.</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::ExtendTokenDialog</name>
    <message>
        <source>It expired at %1 (%2).</source>
        <translation>Es ist am %1 abgelaufen (%2).</translation>
    </message>
    <message>
        <source>It expires at %1 (%2).</source>
        <translation>Es läuft am %1 ab (%2).</translation>
    </message>
    <message>
        <source>Extend token %1</source>
        <translation>Token %1 verlängern</translation>
    </message>
    <message>
        <source>Give enrollment token &apos;%1&apos; a new expiry, counted from now.</source>
        <translation>Registrierungstoken &apos;%1&apos; einen neuen Ablauf geben, ab jetzt gerechnet.</translation>
    </message>
    <message numerus="yes">
        <source>%n connected worker(s) enrolled with it keep running until the new expiry.</source>
        <translation>
            <numerusform>%n damit registrierter, verbundener Worker läuft bis zum neuen Ablauf weiter.</numerusform>
            <numerusform>%n damit registrierte, verbundene Worker laufen bis zum neuen Ablauf weiter.</numerusform>
        </translation>
    </message>
    <message>
        <source>E&amp;xtend</source>
        <translation>&amp;Verlängern</translation>
    </message>
    <message>
        <source>45s, 30m, 24h, 7d, 2w</source>
        <translation>45s, 30m, 24h, 7d, 2w</translation>
    </message>
    <message>
        <source>&amp;Duration:</source>
        <translation>&amp;Dauer:</translation>
    </message>
    <message>
        <source>Workers enrolled with it stop at %1 (%2), when it expires, unless it is extended again.</source>
        <translation>Damit registrierte Worker hören am %1 (%2) auf, wenn es abläuft, außer es wird erneut verlängert.</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::JsonTreeModel</name>
    <message>
        <source>value</source>
        <translation>Wert</translation>
    </message>
    <message numerus="yes">
        <source>{%n field(s)}</source>
        <translation>
            <numerusform>{%n Feld}</numerusform>
            <numerusform>{%n Felder}</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>[%n item(s)]</source>
        <translation>
            <numerusform>[%n Element]</numerusform>
            <numerusform>[%n Elemente]</numerusform>
        </translation>
    </message>
    <message>
        <source>Field</source>
        <translation>Feld</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Wert</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>Typ</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::LiveTableModel</name>
    <message>
        <source>Last known at %1: the console has lost the orchestrator.</source>
        <translation>Zuletzt bekannt um %1: Die Konsole hat die Verbindung zum Orchestrator verloren.</translation>
    </message>
    <message>
        <source>%1 — last known at %2</source>
        <translation>%1 — Stand von %2</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::MainWindow</name>
    <message>
        <source>swamp console</source>
        <translation>swamp-Konsole</translation>
    </message>
    <message>
        <source>&amp;Workers</source>
        <translation>&amp;Worker</translation>
    </message>
    <message>
        <source>T&amp;okens</source>
        <translation>T&amp;okens</translation>
    </message>
    <message>
        <source>&amp;Query</source>
        <translation>&amp;Abfrage</translation>
    </message>
    <message>
        <source>&amp;Events</source>
        <translation>&amp;Ereignisse</translation>
    </message>
    <message>
        <source>&amp;Connection</source>
        <translation>&amp;Verbindung</translation>
    </message>
    <message>
        <source>&amp;Connect to…</source>
        <translation>&amp;Verbinden mit…</translation>
    </message>
    <message>
        <source>&amp;Reconnect now</source>
        <translation>Jetzt &amp;neu verbinden</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>A&amp;nsicht</translation>
    </message>
    <message>
        <source>&amp;Filter…</source>
        <translation>&amp;Filtern…</translation>
    </message>
    <message>
        <source>Wor&amp;kers</source>
        <translation>Wor&amp;ker</translation>
    </message>
    <message>
        <source>&amp;Tokens</source>
        <translation>&amp;Tokens</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>&amp;About swamp console</source>
        <translation>Ü&amp;ber die swamp-Konsole</translation>
    </message>
    <message>
        <source>Not connected</source>
        <translation>Nicht verbunden</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>Verbinden</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>Verbinde mit %1…</translation>
    </message>
    <message>
        <source>Connected to %1</source>
        <translation>Verbunden mit %1</translation>
    </message>
    <message>
        <source>Connected to %1 (swamp %2)</source>
        <translation>Verbunden mit %1 (swamp %2)</translation>
    </message>
    <message>
        <source>Reconnect now</source>
        <translation>Jetzt neu verbinden</translation>
    </message>
    <message>
        <source>Refused: %1</source>
        <translation>Abgewiesen: %1</translation>
    </message>
    <message>
        <source>Connect to…</source>
        <translation>Verbinden mit…</translation>
    </message>
    <message>
        <source>About swamp console</source>
        <translation>Über die swamp-Konsole</translation>
    </message>
    <message>
        <source>&lt;p&gt;&lt;b&gt;swamp console&lt;/b&gt; %1&lt;/p&gt;&lt;p&gt;The desktop admin console of swamp: watch the worker fleet, hand out enrollment tokens, query the orchestrator&apos;s records.&lt;/p&gt;&lt;p&gt;Built with Qt %2.&lt;/p&gt;</source>
        <translation>&lt;p&gt;&lt;b&gt;swamp-Konsole&lt;/b&gt; %1&lt;/p&gt;&lt;p&gt;Die Desktop-Verwaltungskonsole von swamp: die Worker-Flotte beobachten, Registrierungstokens ausgeben, die Datensätze des Orchestrators abfragen.&lt;/p&gt;&lt;p&gt;Erstellt mit Qt %2.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Quer&amp;y</source>
        <translation>Abfra&amp;ge</translation>
    </message>
    <message>
        <source>&amp;Steps</source>
        <translation>&amp;Schritte</translation>
    </message>
    <message>
        <source>Steps waiting for a worker</source>
        <translation>Schritte, die auf einen Worker warten</translation>
    </message>
    <message>
        <source>Ste&amp;ps</source>
        <translation>Sch&amp;ritte</translation>
    </message>
    <message>
        <source>Queue: %1</source>
        <translation>Warteschlange: %1</translation>
    </message>
    <message>
        <source>The tables show what was last known at %1; actions that need the orchestrator are off until it is back.</source>
        <translation>Die Tabellen zeigen den Stand von %1; Aktionen, die den Orchestrator brauchen, sind aus, bis er wieder erreichbar ist.</translation>
    </message>
    <message>
        <source>Reconnecting to %1…</source>
        <translation>Verbinde erneut mit %1…</translation>
    </message>
    <message numerus="yes">
        <source>Retrying in %n s.</source>
        <translation>
            <numerusform>Neuer Versuch in %n s.</numerusform>
            <numerusform>Neuer Versuch in %n s.</numerusform>
        </translation>
    </message>
    <message>
        <source>The orchestrator at %1 refused the console: %2</source>
        <translation>Der Orchestrator %1 hat die Konsole abgewiesen: %2</translation>
    </message>
    <message numerus="yes">
        <source>Connection lost — reconnecting in %n s</source>
        <translation>
            <numerusform>Verbindung verloren — neuer Versuch in %n s</numerusform>
            <numerusform>Verbindung verloren — neuer Versuch in %n s</numerusform>
        </translation>
    </message>
    <message>
        <source>Connection lost: %1.</source>
        <translation>Verbindung verloren: %1.</translation>
    </message>
    <message>
        <source>No connection: %1.</source>
        <translation>Keine Verbindung: %1.</translation>
    </message>
    <message>
        <source>&amp;Audit</source>
        <translation>A&amp;udit</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::NewTokenDialog</name>
    <message>
        <source>&amp;Unlimited</source>
        <translation>&amp;Unbegrenzt</translation>
    </message>
    <message>
        <source>New enrollment token</source>
        <translation>Neues Registrierungstoken</translation>
    </message>
    <message>
        <source>for example ci-linux</source>
        <translation>zum Beispiel ci-linux</translation>
    </message>
    <message>
        <source>45s, 30m, 24h, 7d, 2w</source>
        <translation>45s, 30m, 24h, 7d, 2w</translation>
    </message>
    <message>
        <source>How many distinct machines may enroll with this token</source>
        <translation>Wie viele verschiedene Rechner sich mit diesem Token registrieren dürfen</translation>
    </message>
    <message>
        <source>k=v, k=v (added to every worker enrolled on it)</source>
        <translation>k=v, k=v (jeder damit registrierte Worker erhält sie)</translation>
    </message>
    <message>
        <source>C&amp;reate token</source>
        <translation>Token &amp;erstellen</translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation>&amp;Name:</translation>
    </message>
    <message>
        <source>&amp;Duration:</source>
        <translation>&amp;Dauer:</translation>
    </message>
    <message>
        <source>&amp;Max enrollments:</source>
        <translation>&amp;Max. Registrierungen:</translation>
    </message>
    <message>
        <source>&amp;Labels:</source>
        <translation>&amp;Labels:</translation>
    </message>
    <message>
        <source>Workers enrolled with it stop at %1 (%2), when it expires, unless it is extended.</source>
        <translation>Damit registrierte Worker hören am %1 (%2) auf, wenn es abläuft, außer es wird verlängert.</translation>
    </message>
    <message>
        <source>optional, e.g. a ticket; recorded in the audit trail</source>
        <translation>optional, z. B. ein Ticket; wird im Audit-Protokoll festgehalten</translation>
    </message>
    <message>
        <source>R&amp;eason:</source>
        <translation>&amp;Grund:</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::PruneWorkersDialog</name>
    <message>
        <source>Prune workers</source>
        <translation>Worker aufräumen</translation>
    </message>
    <message>
        <source>Remove the workers disconnected or lost for longer than the grace period, and free their enrollments so that their tokens can enroll other machines. A pruned machine that connects again enrolls as a new worker. Connected workers, and gone ones that may still resume, are never pruned.</source>
        <translation>Die Worker entfernen, die länger als die Karenzzeit getrennt oder verloren sind, und ihre Registrierungen freigeben, damit ihre Tokens andere Rechner registrieren können. Ein aufgeräumter Rechner, der sich wieder verbindet, registriert sich als neuer Worker. Verbundene Worker und gegangene, die noch fortsetzen können, werden nie aufgeräumt.</translation>
    </message>
    <message>
        <source>&amp;Prune</source>
        <translation>&amp;Aufräumen</translation>
    </message>
    <message>
        <source>0s, 30m, 24h, 7d</source>
        <translation>0s, 30m, 24h, 7d</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Token</source>
        <translation>Token</translation>
    </message>
    <message>
        <source>Gone since</source>
        <translation>Weg seit</translation>
    </message>
    <message>
        <source>&amp;Grace period:</source>
        <translation>&amp;Karenzzeit:</translation>
    </message>
    <message>
        <source>Looking for workers to prune…</source>
        <translation>Suche nach Workern zum Aufräumen…</translation>
    </message>
    <message>
        <source>The orchestrator cannot say what would be pruned: %1</source>
        <translation>Der Orchestrator kann nicht sagen, was aufgeräumt würde: %1</translation>
    </message>
    <message>
        <source>No worker has been gone for longer than %1; nothing to prune.</source>
        <translation>Kein Worker ist länger als %1 weg; nichts aufzuräumen.</translation>
    </message>
    <message numerus="yes">
        <source>These %n worker(s) would be pruned:</source>
        <translation>
            <numerusform>Dieser %n Worker würde aufgeräumt:</numerusform>
            <numerusform>Diese %n Worker würden aufgeräumt:</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n gone worker(s) are kept: they may still resume.</source>
        <translation>
            <numerusform>%n gegangener Worker wird behalten: er kann noch fortsetzen.</numerusform>
            <numerusform>%n gegangene Worker werden behalten: sie können noch fortsetzen.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Swamp::Console::QueryResultModel</name>
    <message>
        <source>Value</source>
        <translation>Wert</translation>
    </message>
    <message>
        <source>Model type</source>
        <translation>Modelltyp</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>Updated</source>
        <translation>Aktualisiert</translation>
    </message>
    <message>
        <source>Attributes</source>
        <translation>Attribute</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::QueryTab</name>
    <message>
        <source>&amp;Run query</source>
        <translation>Abfrage aus&amp;führen</translation>
    </message>
    <message>
        <source>modelType == &quot;swamp/worker&quot; &amp;&amp; attributes.status == &quot;idle&quot;</source>
        <translation>modelType == &quot;swamp/worker&quot; &amp;&amp; attributes.status == &quot;idle&quot;</translation>
    </message>
    <message>
        <source>optional projection, e.g. {&quot;name&quot;: name, &quot;status&quot;: attributes.status}</source>
        <translation>optionale Projektion, z. B. {&quot;name&quot;: name, &quot;status&quot;: attributes.status}</translation>
    </message>
    <message>
        <source>unlimited</source>
        <translation>unbegrenzt</translation>
    </message>
    <message>
        <source>Examples…</source>
        <translation>Beispiele…</translation>
    </message>
    <message>
        <source>Run the query (Ctrl+Return)</source>
        <translation>Abfrage ausführen (Strg+Eingabe)</translation>
    </message>
    <message>
        <source>&amp;Predicate:</source>
        <translation>&amp;Prädikat:</translation>
    </message>
    <message>
        <source>&amp;Limit:</source>
        <translation>&amp;Limit:</translation>
    </message>
    <message>
        <source>&amp;Select:</source>
        <translation>Au&amp;swahl:</translation>
    </message>
    <message>
        <source>--select: %1</source>
        <translation>--select: %1</translation>
    </message>
    <message>
        <source>Did you mean &quot;%1&quot;?</source>
        <translation>Meinten Sie „%1“?</translation>
    </message>
    <message>
        <source>Running…</source>
        <translation>Läuft…</translation>
    </message>
    <message>
        <source>The query failed: %1</source>
        <translation>Die Abfrage ist fehlgeschlagen: %1</translation>
    </message>
    <message numerus="yes">
        <source>Showing %1 of %n result(s) (limited).</source>
        <translation>
            <numerusform>%1 von %n Ergebnis angezeigt (begrenzt).</numerusform>
            <numerusform>%1 von %n Ergebnissen angezeigt (begrenzt).</numerusform>
        </translation>
    </message>
    <message>
        <source>No record matches. Try a broader predicate, e.g. modelType == &quot;swamp/worker&quot;.</source>
        <translation>Kein Datensatz passt. Versuchen Sie ein weiter gefasstes Prädikat, z. B. modelType == &quot;swamp/worker&quot;.</translation>
    </message>
    <message numerus="yes">
        <source>%n result(s).</source>
        <translation>
            <numerusform>%n Ergebnis.</numerusform>
            <numerusform>%n Ergebnisse.</numerusform>
        </translation>
    </message>
    <message>
        <source>Export query results</source>
        <translation>Abfrageergebnisse exportieren</translation>
    </message>
    <message>
        <source>JSON files (*.json);;All files (*)</source>
        <translation>JSON-Dateien (*.json);;Alle Dateien (*)</translation>
    </message>
    <message numerus="yes">
        <source>Exported %n result(s) to %1.</source>
        <translation>
            <numerusform>%n Ergebnis nach %1 exportiert.</numerusform>
            <numerusform>%n Ergebnisse nach %1 exportiert.</numerusform>
        </translation>
    </message>
    <message>
        <source>Could not write %1: %2</source>
        <translation>%1 konnte nicht geschrieben werden: %2</translation>
    </message>
    <message>
        <source>E&amp;xport JSON…</source>
        <translation>JSON e&amp;xportieren…</translation>
    </message>
    <message>
        <source>&amp;Copy value</source>
        <translation>Wert &amp;kopieren</translation>
    </message>
    <message>
        <source>&amp;Copy result as JSON</source>
        <translation>Ergebnis als JSON &amp;kopieren</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::RevokeTokenDialog</name>
    <message>
        <source>Revoke token %1</source>
        <translation>Token %1 widerrufen</translation>
    </message>
    <message>
        <source>Revoke enrollment token &apos;%1&apos;? New enrollments with it fail at once, and it cannot be undone.</source>
        <translation>Registrierungstoken &apos;%1&apos; widerrufen? Neue Registrierungen damit schlagen sofort fehl; das lässt sich nicht rückgängig machen.</translation>
    </message>
    <message>
        <source>No connected worker is enrolled on this token.</source>
        <translation>Kein verbundener Worker ist mit diesem Token registriert.</translation>
    </message>
    <message>
        <source>These connected workers will be disconnected now; their running steps are cancelled and go back to the queue:</source>
        <translation>Diese verbundenen Worker werden sofort getrennt; ihre laufenden Schritte werden abgebrochen und kommen zurück in die Warteschlange:</translation>
    </message>
    <message>
        <source>optional, shown in the event log</source>
        <translation>optional, erscheint im Ereignisprotokoll</translation>
    </message>
    <message>
        <source>&amp;Revoke</source>
        <translation>&amp;Widerrufen</translation>
    </message>
    <message>
        <source>R&amp;eason:</source>
        <translation>&amp;Grund:</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::StepModel</name>
    <message>
        <source>%1/%2</source>
        <translation>%1/%2</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>Worker</source>
        <translation>Worker</translation>
    </message>
    <message>
        <source>Attempt</source>
        <translation>Versuch</translation>
    </message>
    <message>
        <source>Exit</source>
        <translation>Exit</translation>
    </message>
    <message>
        <source>Queued</source>
        <translation>Eingereiht</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>Gestartet</translation>
    </message>
    <message>
        <source>Finished</source>
        <translation>Beendet</translation>
    </message>
    <message>
        <source>ID</source>
        <translation>ID</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Fehler</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::StepOutputView</name>
    <message>
        <source>Fo&amp;llow</source>
        <translation>Fo&amp;lgen</translation>
    </message>
    <message>
        <source>Select a step to see its output.</source>
        <translation>Wählen Sie einen Schritt aus, um seine Ausgabe zu sehen.</translation>
    </message>
    <message>
        <source>Keep the view scrolled to the newest output</source>
        <translation>Die Ansicht bleibt bei der neuesten Ausgabe</translation>
    </message>
    <message>
        <source>Cannot follow the output: %1</source>
        <translation>Die Ausgabe kann nicht verfolgt werden: %1</translation>
    </message>
    <message>
        <source>— attempt %1 —</source>
        <translation>— Versuch %1 —</translation>
    </message>
    <message>
        <source>Loading output…</source>
        <translation>Lade Ausgabe…</translation>
    </message>
    <message>
        <source>Queued: output appears when a worker runs it</source>
        <translation>Wartend: die Ausgabe erscheint, sobald ein Worker den Schritt ausführt</translation>
    </message>
    <message>
        <source>Following live output (%1)</source>
        <translation>Verfolge die Ausgabe live (%1)</translation>
    </message>
    <message>
        <source>Finished: %1, exit code %2</source>
        <translation>Beendet: %1, Exit-Code %2</translation>
    </message>
    <message>
        <source>Finished: %1</source>
        <translation>Beendet: %1</translation>
    </message>
    <message>
        <source>(output truncated)</source>
        <translation>(Ausgabe gekürzt)</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::StepsTab</name>
    <message>
        <source>C&amp;ancel step…</source>
        <translation>Schritt a&amp;bbrechen…</translation>
    </message>
    <message>
        <source>Copy step &amp;ID</source>
        <translation>Schritt-&amp;ID kopieren</translation>
    </message>
    <message>
        <source>Stop the step: a queued step is dropped, a running one is killed on its worker</source>
        <translation>Den Schritt stoppen: ein wartender Schritt wird verworfen, ein laufender auf seinem Worker beendet</translation>
    </message>
    <message>
        <source>Copy the full step id, for &apos;swamp run logs&apos; or &apos;swamp run status&apos;</source>
        <translation>Die vollständige Schritt-ID kopieren, für „swamp run logs“ oder „swamp run status“</translation>
    </message>
    <message>
        <source>Filter by name, state, worker, id, error…</source>
        <translation>Nach Name, Zustand, Worker, ID, Fehler filtern…</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>State:</source>
        <translation>Zustand:</translation>
    </message>
    <message>
        <source>Step ID:</source>
        <translation>Schritt-ID:</translation>
    </message>
    <message>
        <source>Run ID:</source>
        <translation>Lauf-ID:</translation>
    </message>
    <message>
        <source>Command:</source>
        <translation>Befehl:</translation>
    </message>
    <message>
        <source>Runs on:</source>
        <translation>Läuft auf:</translation>
    </message>
    <message>
        <source>Worker:</source>
        <translation>Worker:</translation>
    </message>
    <message>
        <source>Attempt:</source>
        <translation>Versuch:</translation>
    </message>
    <message>
        <source>Exit code:</source>
        <translation>Exit-Code:</translation>
    </message>
    <message>
        <source>Error:</source>
        <translation>Fehler:</translation>
    </message>
    <message>
        <source>Queued at:</source>
        <translation>Eingereiht um:</translation>
    </message>
    <message>
        <source>Started at:</source>
        <translation>Gestartet um:</translation>
    </message>
    <message>
        <source>Finished at:</source>
        <translation>Beendet um:</translation>
    </message>
    <message>
        <source>Attempt</source>
        <translation>Versuch</translation>
    </message>
    <message>
        <source>Worker</source>
        <translation>Worker</translation>
    </message>
    <message>
        <source>Lease</source>
        <translation>Lease</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>Gestartet</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>Beendet</translation>
    </message>
    <message>
        <source>Cancel step &apos;%1&apos; (%2)? It is still queued and will not run.</source>
        <translation>Schritt „%1“ (%2) abbrechen? Er wartet noch und wird nicht ausgeführt.</translation>
    </message>
    <message>
        <source>Cancel step &apos;%1&apos; (%2)? Its process on worker &apos;%3&apos; is killed.</source>
        <translation>Schritt „%1“ (%2) abbrechen? Sein Prozess auf Worker „%3“ wird beendet.</translation>
    </message>
    <message>
        <source>Cancel step %1</source>
        <translation>Schritt %1 abbrechen</translation>
    </message>
    <message>
        <source>Cancel &amp;step</source>
        <translation>Schritt &amp;abbrechen</translation>
    </message>
    <message>
        <source>&amp;Keep running</source>
        <translation>&amp;Weiterlaufen lassen</translation>
    </message>
    <message>
        <source>Step &apos;%1&apos; had already finished.</source>
        <translation>Schritt „%1“ war bereits beendet.</translation>
    </message>
    <message>
        <source>Cancelling step &apos;%1&apos;.</source>
        <translation>Schritt „%1“ wird abgebrochen.</translation>
    </message>
    <message>
        <source>Copied step id %1.</source>
        <translation>Schritt-ID %1 kopiert.</translation>
    </message>
    <message>
        <source>No step selected</source>
        <translation>Kein Schritt ausgewählt</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 von %2</translation>
    </message>
    <message>
        <source>%1 (exit %2)</source>
        <translation>%1 (Exit %2)</translation>
    </message>
    <message numerus="yes">
        <source>%n step(s): %1 queued, %2 running, %3 finished (the most recent %4 are kept)</source>
        <translation>
            <numerusform>%n Schritt: %1 wartend, %2 laufend, %3 beendet (die letzten %4 werden behalten)</numerusform>
            <numerusform>%n Schritte: %1 wartend, %2 laufend, %3 beendet (die letzten %4 werden behalten)</numerusform>
        </translation>
    </message>
    <message>
        <source>Leases</source>
        <translation>Leases</translation>
    </message>
    <message>
        <source>No steps yet. Submit one with
swamp run -- echo hello
and follow it here as it runs.</source>
        <translation>Noch keine Schritte. Reichen Sie einen ein mit
swamp run -- echo hello
und verfolgen Sie ihn hier, während er läuft.</translation>
    </message>
    <message>
        <source>No steps match the filter.</source>
        <translation>Kein Schritt passt zum Filter.</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::TokenCreatedDialog</name>
    <message>
        <source>This token is shown once and will not be displayed again — store it now.</source>
        <translation>Dieses Token wird nur einmal angezeigt und nie wieder — speichern Sie es jetzt.</translation>
    </message>
    <message>
        <source>Token created</source>
        <translation>Token erstellt</translation>
    </message>
    <message>
        <source>&amp;Copy token</source>
        <translation>Token &amp;kopieren</translation>
    </message>
    <message>
        <source>Copy %1 snippet</source>
        <translation>%1-Ausschnitt kopieren</translation>
    </message>
    <message>
        <source>Deploy a worker with this token:</source>
        <translation>Einen Worker mit diesem Token bereitstellen:</translation>
    </message>
    <message>
        <source>https://…/swamp_%1_amd64.deb</source>
        <translation>https://…/swamp_%1_amd64.deb</translation>
    </message>
    <message>
        <source>Where new machines download swamp&apos;s Debian package (built with &apos;cpack -G DEB&apos;; docs/operations.md, &quot;Deploy recipes&quot;). Remembered for the next token.</source>
        <translation>Woher neue Rechner das Debian-Paket von swamp laden (gebaut mit &apos;cpack -G DEB&apos;; docs/operations.md, &quot;Deploy recipes&quot;). Wird für das nächste Token gemerkt.</translation>
    </message>
    <message>
        <source>&amp;Package URL:</source>
        <translation>&amp;Paket-URL:</translation>
    </message>
    <message>
        <source>This recipe installs swamp on a fresh machine: enter the package URL above first.</source>
        <translation>Dieses Rezept installiert swamp auf einem frischen Rechner: Geben Sie zuerst oben die Paket-URL ein.</translation>
    </message>
    <message>
        <source>Enter a valid package URL above: %1.</source>
        <translation>Geben Sie oben eine gültige Paket-URL ein: %1.</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::TokenModel</name>
    <message>
        <source>%1/unlimited</source>
        <translation>%1/unbegrenzt</translation>
    </message>
    <message>
        <source>%1/%2</source>
        <translation>%1/%2</translation>
    </message>
    <message>
        <source>revoked %1</source>
        <translation>widerrufen %1</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>Enrollments</source>
        <translation>Registrierungen</translation>
    </message>
    <message>
        <source>Expires</source>
        <translation>Läuft ab</translation>
    </message>
    <message>
        <source>Labels</source>
        <translation>Labels</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>Erstellt</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::TokensTab</name>
    <message>
        <source>&amp;New token…</source>
        <translation>Ne&amp;ues Token…</translation>
    </message>
    <message>
        <source>&amp;Revoke…</source>
        <translation>Wide&amp;rrufen…</translation>
    </message>
    <message>
        <source>Create an enrollment token (%1)</source>
        <translation>Ein Registrierungstoken erstellen (%1)</translation>
    </message>
    <message>
        <source>Revoke the selected token (%1)</source>
        <translation>Das ausgewählte Token widerrufen (%1)</translation>
    </message>
    <message>
        <source>Filter by name, state, label…</source>
        <translation>Nach Name, Zustand, Label filtern…</translation>
    </message>
    <message numerus="yes">
        <source>%n token(s), %1 live</source>
        <translation>
            <numerusform>%n Token, %1 gültig</numerusform>
            <numerusform>%n Tokens, %1 gültig</numerusform>
        </translation>
    </message>
    <message>
        <source>Token &apos;%1&apos; expires %2 (%3); enrollments: %4; labels: %5.</source>
        <translation>Token &apos;%1&apos; läuft ab am %2 (%3); Registrierungen: %4; Labels: %5.</translation>
    </message>
    <message>
        <source>unlimited</source>
        <translation>unbegrenzt</translation>
    </message>
    <message>
        <source>Created enrollment token &apos;%1&apos;.</source>
        <translation>Registrierungstoken &apos;%1&apos; erstellt.</translation>
    </message>
    <message>
        <source>Enrollment token &apos;%1&apos; was already revoked.</source>
        <translation>Registrierungstoken &apos;%1&apos; war bereits widerrufen.</translation>
    </message>
    <message>
        <source>Revoked enrollment token &apos;%1&apos;.</source>
        <translation>Registrierungstoken &apos;%1&apos; widerrufen.</translation>
    </message>
    <message>
        <source>Revoked enrollment token &apos;%1&apos;; disconnected: %2.</source>
        <translation>Registrierungstoken &apos;%1&apos; widerrufen; getrennt: %2.</translation>
    </message>
    <message>
        <source>Show e&amp;xpired and revoked</source>
        <translation>A&amp;bgelaufene und widerrufene zeigen</translation>
    </message>
    <message>
        <source>No tokens yet. Create one with %1 (%2): a worker enrolls with it once, then keeps its identity.</source>
        <translation>Noch keine Tokens. Erstellen Sie eines mit %1 (%2): Ein Worker registriert sich einmal damit und behält dann seine Identität.</translation>
    </message>
    <message>
        <source>No tokens match the filter. Clear it, or tick “Show expired and revoked”.</source>
        <translation>Kein Token passt zum Filter. Leeren Sie ihn oder setzen Sie „Abgelaufene und widerrufene zeigen“.</translation>
    </message>
    <message>
        <source>Workers enrolled with it stop then too (its expiry ends their sessions): extend it in time with &apos;swamp worker token extend %1 --duration 30d&apos;.</source>
        <translation>Damit registrierte Worker hören dann ebenfalls auf (sein Ablauf beendet ihre Sitzungen): Verlängern Sie es rechtzeitig mit &apos;swamp worker token extend %1 --duration 30d&apos;.</translation>
    </message>
    <message>
        <source>E&amp;xtend…</source>
        <translation>&amp;Verlängern…</translation>
    </message>
    <message>
        <source>Move the selected token&apos;s expiry, and so its workers&apos; stop, later</source>
        <translation>Den Ablauf des ausgewählten Tokens, und damit das Ende seiner Worker, nach hinten verschieben</translation>
    </message>
    <message numerus="yes">
        <source>Extended enrollment token &apos;%1&apos;: it and its %n connected worker(s) stop at %2.</source>
        <translation>
            <numerusform>Registrierungstoken &apos;%1&apos; verlängert: es und sein %n verbundener Worker hören am %2 auf.</numerusform>
            <numerusform>Registrierungstoken &apos;%1&apos; verlängert: es und seine %n verbundenen Worker hören am %2 auf.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Swamp::Console::WorkerActions</name>
    <message>
        <source>&amp;Drain…</source>
        <translation>Aus&amp;laufen lassen…</translation>
    </message>
    <message>
        <source>&amp;Undrain</source>
        <translation>Wieder aufneh&amp;men</translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation>&amp;Pausieren</translation>
    </message>
    <message>
        <source>Re&amp;sume</source>
        <translation>&amp;Fortsetzen</translation>
    </message>
    <message>
        <source>&amp;Labels…</source>
        <translation>&amp;Labels…</translation>
    </message>
    <message>
        <source>Re&amp;move…</source>
        <translation>&amp;Entfernen…</translation>
    </message>
    <message>
        <source>&amp;Copy name</source>
        <translation>Namen &amp;kopieren</translation>
    </message>
    <message>
        <source>P&amp;rune gone workers…</source>
        <translation>Gegangene Worker auf&amp;räumen…</translation>
    </message>
    <message>
        <source>Remove the workers gone for longer than a grace period and free their enrollments</source>
        <translation>Die Worker entfernen, die länger als eine Karenzzeit weg sind, und ihre Registrierungen freigeben</translation>
    </message>
    <message>
        <source>Finish the running steps, take no new ones, then exit</source>
        <translation>Laufende Schritte beenden, keine neuen annehmen, dann beenden</translation>
    </message>
    <message>
        <source>Take steps again</source>
        <translation>Wieder Schritte annehmen</translation>
    </message>
    <message>
        <source>Take no new steps but stay connected (Ctrl+P)</source>
        <translation>Keine neuen Schritte annehmen, aber verbunden bleiben (Strg+P)</translation>
    </message>
    <message>
        <source>Take steps again after a pause (Ctrl+Shift+P)</source>
        <translation>Nach einer Pause wieder Schritte annehmen (Strg+Umschalt+P)</translation>
    </message>
    <message>
        <source>Add, change or remove the worker&apos;s labels (F2)</source>
        <translation>Labels des Workers hinzufügen, ändern oder entfernen (F2)</translation>
    </message>
    <message>
        <source>Remove the worker and free its enrollment (Del)</source>
        <translation>Den Worker entfernen und seine Registrierung freigeben (Entf)</translation>
    </message>
    <message numerus="yes">
        <source>Pruned %n worker(s); %1 enrollment(s) freed.</source>
        <translation>
            <numerusform>%n Worker aufgeräumt; %1 Registrierung(en) freigegeben.</numerusform>
            <numerusform>%n Worker aufgeräumt; %1 Registrierung(en) freigegeben.</numerusform>
        </translation>
    </message>
    <message>
        <source>This orchestrator does not offer %1 (it runs an older swamp): %2</source>
        <translation>Dieser Orchestrator bietet %1 nicht an (er läuft mit einem älteren swamp): %2</translation>
    </message>
    <message>
        <source>Draining worker &apos;%1&apos;.</source>
        <translation>Worker &apos;%1&apos; läuft aus.</translation>
    </message>
    <message>
        <source>Worker &apos;%1&apos; takes steps again.</source>
        <translation>Worker &apos;%1&apos; nimmt wieder Schritte an.</translation>
    </message>
    <message>
        <source>Paused worker &apos;%1&apos;: it takes no new steps and stays connected.</source>
        <translation>Worker &apos;%1&apos; pausiert: Er nimmt keine neuen Schritte an und bleibt verbunden.</translation>
    </message>
    <message>
        <source>Changed the labels of worker &apos;%1&apos;.</source>
        <translation>Labels von Worker &apos;%1&apos; geändert.</translation>
    </message>
    <message>
        <source>Remove worker &apos;%1&apos;? Its record is deleted and its enrollment on token &apos;%2&apos; is freed, so the token can enroll another machine.</source>
        <translation>Worker &apos;%1&apos; entfernen? Sein Datensatz wird gelöscht und seine Registrierung auf Token &apos;%2&apos; freigegeben, sodass das Token einen anderen Rechner registrieren kann.</translation>
    </message>
    <message numerus="yes">
        <source>It is connected: its session ends now, and its %n running step(s) are cancelled and go back to the queue.</source>
        <translation>
            <numerusform>Er ist verbunden: Seine Sitzung endet jetzt, und sein %n laufender Schritt wird abgebrochen und kommt zurück in die Warteschlange.</numerusform>
            <numerusform>Er ist verbunden: Seine Sitzung endet jetzt, und seine %n laufenden Schritte werden abgebrochen und kommen zurück in die Warteschlange.</numerusform>
        </translation>
    </message>
    <message>
        <source>It is not connected; no step runs on it.</source>
        <translation>Er ist nicht verbunden; kein Schritt läuft auf ihm.</translation>
    </message>
    <message>
        <source>Remove worker %1</source>
        <translation>Worker %1 entfernen</translation>
    </message>
    <message>
        <source>&amp;Remove</source>
        <translation>&amp;Entfernen</translation>
    </message>
    <message>
        <source>Removed worker &apos;%1&apos;.</source>
        <translation>Worker &apos;%1&apos; entfernt.</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::WorkerLabelsDialog</name>
    <message>
        <source>Labels of %1</source>
        <translation>Labels von %1</translation>
    </message>
    <message>
        <source>The labels of worker &apos;%1&apos; decide which steps it takes. Changes apply to the next steps; running ones go on.</source>
        <translation>Die Labels von Worker &apos;%1&apos; bestimmen, welche Schritte er annimmt. Änderungen gelten für die nächsten Schritte; laufende gehen weiter.</translation>
    </message>
    <message>
        <source>&amp;Apply</source>
        <translation>&amp;Anwenden</translation>
    </message>
    <message>
        <source>k=v, k=v</source>
        <translation>k=v, k=v</translation>
    </message>
    <message>
        <source>&amp;Labels:</source>
        <translation>&amp;Labels:</translation>
    </message>
    <message>
        <source>set %1</source>
        <translation>%1 setzen</translation>
    </message>
    <message>
        <source>remove %1</source>
        <translation>%1 entfernen</translation>
    </message>
    <message>
        <source>No change yet.</source>
        <translation>Noch keine Änderung.</translation>
    </message>
    <message>
        <source>Will %1.</source>
        <translation>Wird: %1.</translation>
    </message>
    <message>
        <source>; </source>
        <translation>; </translation>
    </message>
</context>
<context>
    <name>Swamp::Console::WorkerModel</name>
    <message>
        <source>%1/%2</source>
        <translation>%1/%2</translation>
    </message>
    <message>
        <source>now</source>
        <translation>jetzt</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Slots</source>
        <translation>Slots</translation>
    </message>
    <message>
        <source>Labels</source>
        <translation>Labels</translation>
    </message>
    <message>
        <source>Platform</source>
        <translation>Plattform</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <source>Last seen</source>
        <translation>Zuletzt gesehen</translation>
    </message>
    <message>
        <source>Token</source>
        <translation>Token</translation>
    </message>
    <message>
        <source>Orchestrator</source>
        <translation>Orchestrator</translation>
    </message>
</context>
<context>
    <name>Swamp::Console::WorkersTab</name>
    <message>
        <source>Filter by name, status, label, platform, token…</source>
        <translation>Nach Name, Status, Label, Plattform, Token filtern…</translation>
    </message>
    <message>
        <source>Also list workers that are disconnected or lost</source>
        <translation>Auch getrennte und verlorene Worker anzeigen</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>Status:</source>
        <translation>Status:</translation>
    </message>
    <message>
        <source>Machine ID:</source>
        <translation>Rechner-ID:</translation>
    </message>
    <message>
        <source>Instance:</source>
        <translation>Instanz:</translation>
    </message>
    <message>
        <source>Hostname:</source>
        <translation>Hostname:</translation>
    </message>
    <message>
        <source>Platform:</source>
        <translation>Plattform:</translation>
    </message>
    <message>
        <source>Token:</source>
        <translation>Token:</translation>
    </message>
    <message>
        <source>Labels:</source>
        <translation>Labels:</translation>
    </message>
    <message>
        <source>Enrolled at:</source>
        <translation>Registriert am:</translation>
    </message>
    <message>
        <source>Last seen at:</source>
        <translation>Zuletzt gesehen am:</translation>
    </message>
    <message>
        <source>Disconnected at:</source>
        <translation>Getrennt am:</translation>
    </message>
    <message>
        <source>No worker selected</source>
        <translation>Kein Worker ausgewählt</translation>
    </message>
    <message>
        <source>now (connected)</source>
        <translation>jetzt (verbunden)</translation>
    </message>
    <message numerus="yes">
        <source>%n worker(s), %1 connected</source>
        <translation>
            <numerusform>%n Worker, %1 verbunden</numerusform>
            <numerusform>%n Worker, %1 verbunden</numerusform>
        </translation>
    </message>
    <message>
        <source>Show d&amp;isconnected</source>
        <translation>Getrennte &amp;zeigen</translation>
    </message>
    <message>
        <source>last known at %1 (connected then)</source>
        <translation>zuletzt bekannt um %1 (damals verbunden)</translation>
    </message>
    <message>
        <source>No workers yet. Create a token on the Tokens tab, then run
swamp worker connect %1 --token &lt;token&gt; --cache-dir &lt;dir&gt;
on a machine: it shows here as soon as it enrolls.</source>
        <translation>Noch keine Worker. Erstellen Sie im Reiter Tokens ein Token und führen Sie dann
swamp worker connect %1 --token &lt;token&gt; --cache-dir &lt;dir&gt;
auf einem Rechner aus: Er erscheint hier, sobald er sich registriert.</translation>
    </message>
    <message>
        <source>No workers match the filter. Clear it, or tick “Show disconnected”.</source>
        <translation>Kein Worker passt zum Filter. Leeren Sie ihn oder setzen Sie „Getrennte zeigen“.</translation>
    </message>
</context>
<context>
    <name>SwampConsole</name>
    <message>
        <source>The desktop admin console of swamp.</source>
        <translation>Die Desktop-Verwaltungskonsole von swamp.</translation>
    </message>
    <message>
        <source>Orchestrator URL (ws:// or wss://); default: the local admin.json.</source>
        <translation>Orchestrator-URL (ws:// oder wss://); Standard: die lokale admin.json.</translation>
    </message>
    <message>
        <source>url</source>
        <translation>url</translation>
    </message>
    <message>
        <source>File holding the admin token.</source>
        <translation>Datei mit dem Admin-Token.</translation>
    </message>
    <message>
        <source>path</source>
        <translation>pfad</translation>
    </message>
    <message>
        <source>PEM file of the CA that signed the orchestrator&apos;s certificate.</source>
        <translation>PEM-Datei der CA, die das Zertifikat des Orchestrators signiert hat.</translation>
    </message>
    <message>
        <source>pem</source>
        <translation>pem</translation>
    </message>
    <message>
        <source>Data directory whose admin.json to use (default: $SWAMP_DATA_DIR, else the default data directory).</source>
        <translation>Datenverzeichnis, dessen admin.json verwendet wird (Standard: $SWAMP_DATA_DIR, sonst das Standard-Datenverzeichnis).</translation>
    </message>
    <message>
        <source>dir</source>
        <translation>verz</translation>
    </message>
    <message>
        <source>Language, e.g. de (default: the system locale).</source>
        <translation>Sprache, z. B. de (Standard: die Systemsprache).</translation>
    </message>
    <message>
        <source>code</source>
        <translation>code</translation>
    </message>
    <message>
        <source>Save a PNG of each tab into &lt;dir&gt; once the data has loaded, then quit.</source>
        <translation>Sobald die Daten geladen sind, ein PNG jedes Reiters in &lt;verz&gt; speichern, dann beenden.</translation>
    </message>
    <message>
        <source>With --screenshot: then wait until the orchestrator is gone and save each tab again (console-&lt;tab&gt;-lost-&lt;lang&gt;.png).</source>
        <translation>Mit --screenshot: danach warten, bis der Orchestrator weg ist, und jeden Reiter erneut speichern (console-&lt;tab&gt;-lost-&lt;lang&gt;.png).</translation>
    </message>
</context>
</TS>
