# report.tcl: totals of an inventory file that lives beside the script.
set here [file dirname [file normalize [info script]]]
source [file join $here lib format.tcl]

set f [open [file join $here data inventory.txt]]
fconfigure $f -encoding utf-8
set total 0
set rows {}
while {[gets $f line] >= 0} {
	if {[string trim $line] eq "" || [string index $line 0] eq "#"} continue
	lassign [split $line ","] name qty price
	set total [expr {$total + $qty * $price}]
	lappend rows [list $name $qty $price]
}
close $f

foreach r [lsort -index 0 $rows] {
	puts [row {*}$r]
}
puts [format "total: %.2f" $total]
puts "date: [clock format 86400 -format {%Y-%m-%d %A} -gmt 1]"
puts "latin1 bytes: [string length [encoding convertto iso8859-1 Grüße]]"
