# format.tcl: a helper sourced by report.tcl.
proc row {name qty price} {
	return [format "%-8s %3d x %6.2f" $name $qty $price]
}
